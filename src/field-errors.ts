// The `errors[]` entries of a 422 from the contract validator: for each offending field its path, a
// stable keyword a program can switch on (`blank`, `too_long`, `not_allowed`…) and a sentence a
// person can be shown ("Title must not be blank."), instead of Ajv's own wording ("must match
// pattern …"), which would make every frontend write its own text.
import type { FieldError, FieldErrorKeyword } from './contract.ts';

/** An entry of express-openapi-validator's report: Ajv's keyword (as `<keyword>.openapi.validation`) and message. */
export type ValidatorEntry = { readonly path?: string; readonly message?: string; readonly errorCode?: string };

/** The value the request sent at a field path (`/body/title`, `/query/limit`), when there is one. */
export type ValueAt = (path: string) => unknown;

// A table's own entry only: a field a client names `constructor` or `toString` must not find
// Object.prototype's function (a 500 the conformance test found).
const wordsFor = (table: Readonly<Record<string, string>>, key: string): string | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

// Field names whose words are not just the name with `_` as spaces.
const fieldLabels: Readonly<Record<string, string>> = { due_at: 'Due date', task_id: 'Task id', user_id: 'User id' };

function label(path: string): string {
  const segments = path.split('/').filter(Boolean);
  const [location] = segments;
  const name = segments.at(-1) ?? '';
  if (segments.length <= 1) return location === 'body' ? 'The request body' : 'The request';
  if (location === 'headers') return `The ${name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase())} header`;
  if (location === 'query') return /^\d+$/.test(name) ? `Each value of the ${segments.at(-2)} parameter` : `The ${name} parameter`;
  // An array item (`/body/tags/0`): "Each tag".
  if (/^\d+$/.test(name)) return `Each ${(segments.at(-2) ?? 'item').replace(/s$/, '').replaceAll('_', ' ')}`;
  const words = wordsFor(fieldLabels, name) ?? name.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Ajv's type names, as words. */
const typeWords: Readonly<Record<string, string>> = {
  string: 'text',
  boolean: 'true or false',
  integer: 'a whole number',
  number: 'a number',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

const formatWords: Readonly<Record<string, string>> = {
  uuid: 'a UUID',
  'date-time': 'a date and time such as 2026-11-23T18:00:00Z',
  date: 'a date such as 2026-11-23',
};

const numberIn = (message: string) => /(-?\d+(?:\.\d+)?)/.exec(message)?.[1] ?? '';

/**
 * The field errors of a validator report, one per path and keyword: Ajv reports an empty title
 * twice (too short, and not matching the pattern), which is one thing to tell a person.
 */
export function fieldErrorsOf(entries: readonly ValidatorEntry[], valueAt: ValueAt): FieldError[] {
  const errors = entries.map((entry) => fieldErrorOf(entry, valueAt));
  return errors.filter((error, index) => errors.findIndex((other) => other.path === error.path && other.keyword === error.keyword) === index);
}

function fieldErrorOf(entry: ValidatorEntry, valueAt: ValueAt): FieldError {
  const path = pointer(entry.path);
  const message = entry.message ?? '';
  const keyword = entry.errorCode?.replace(/\.openapi\.validation$/, '');
  const field = label(path);
  const value = valueAt(path);
  const error = (kind: FieldErrorKeyword, sentence: string): FieldError => ({ path, keyword: kind, message: sentence });
  switch (keyword) {
    case 'required':
      return error('required', `${field} is required.`);
    case 'additionalProperties':
    case 'unevaluatedProperties':
      return error('not_allowed', `"${path.split('/').at(-1)}" is not a field this request accepts.`);
    case 'type': {
      const types = message.replace(/^must be /, '').split(',');
      return error('wrong_type', `${field} must be ${types.map((type) => wordsFor(typeWords, type) ?? type).join(' or ')}.`);
    }
    case 'enum':
      return error('not_one_of', `${field} must be one of: ${message.replace(/^.*allowed values: /, '')}.`);
    case 'const':
      return error('not_one_of', `${field} is not the allowed value.`);
    case 'maxLength':
      return error('too_long', `${field} must be at most ${numberIn(message)} characters.`);
    case 'minLength':
      return numberIn(message) === '1'
        ? error('blank', `${field} must not be empty.`)
        : error('too_short', `${field} must be at least ${numberIn(message)} characters.`);
    case 'maxItems':
      return error('too_many', `${field} must have at most ${numberIn(message)} items.`);
    case 'minItems':
      return error('too_few', `${field} must have at least ${numberIn(message)} items.`);
    case 'uniqueItems':
      return error('duplicate', `${field} must not repeat an item.`);
    case 'minProperties':
      return error('empty', `${field} must contain at least one field.`);
    case 'minimum':
    case 'exclusiveMinimum':
      return error('too_small', `${field} must be ${keyword === 'minimum' ? 'at least' : 'more than'} ${numberIn(message)}.`);
    case 'maximum':
    case 'exclusiveMaximum':
      return error('too_large', `${field} must be ${keyword === 'maximum' ? 'at most' : 'less than'} ${numberIn(message)}.`);
    case 'format': {
      const format = /format "([^"]+)"/.exec(message)?.[1] ?? '';
      return error('invalid_format', `${field} must be ${wordsFor(formatWords, format) ?? `in the ${format} format`}.`);
    }
    case 'pattern':
      // The contract's patterns refuse blank text and NUL characters (which one it was is in the
      // value), a tag over 40 characters once trimmed, and a due date outside the years 1000-8999.
      if (typeof value === 'string' && value.includes('\u0000')) return error('contains_nul', `${field} must not contain NUL characters.`);
      if (typeof value === 'string' && value.trim() === '') return error('blank', `${field} must not be blank.`);
      if (/^\/body\/tags\/\d+$/.test(path)) return error('too_long', `${field} must be at most 40 characters, spaces around it aside.`);
      if (path === '/body/due_at' && typeof value === 'string' && /^\d{4}-/.test(value)) {
        return error('too_large', `${field} must be between the years 1000 and 8999.`);
      }
      if (path === '/body/due_at') return error('invalid_format', `${field} must be ${formatWords['date-time']}.`);
      return error('invalid_format', `${field} is not in the accepted format.`);
    case undefined:
      // The validator's own checks of the query string carry no Ajv keyword.
      if (message.startsWith('Unknown query parameter')) return error('not_allowed', `"${path.split('/').at(-1)}" is not a parameter this request accepts.`);
      if (message.startsWith('Empty value')) return error('blank', `${field} must not be empty.`);
      return error('invalid', `${field} is not valid.`);
    default:
      return error('invalid', `${field} is not valid.`);
  }
}

// The validator reports `.body.title` or `/body/title`; clients get a JSON-pointer-like path.
function pointer(path: string | undefined): string {
  if (!path) return '/';
  return path.startsWith('/') ? path : `/${path.replace(/^\./, '').replaceAll('.', '/')}`;
}
