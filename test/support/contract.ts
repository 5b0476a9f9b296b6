// The contract as data, for the tests that must follow it rather than today's list of operations:
// every operation (method, path, parameters, body, responses) read from openapi/tasks-api.yaml, and
// an Ajv 2020 validator over it that shares nothing with the server's express-openapi-validator.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { contractPath } from '../../src/contract.ts';

export type JsonSchema = Record<string, unknown>;
type Json = Record<string, any>;

export type ContractParameter = {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required: boolean;
  readonly schema: JsonSchema;
  /** The parameter's documented example, when it has one. */
  readonly example?: unknown;
};

export type ContractResponse = {
  readonly headers: Readonly<Record<string, { readonly required: boolean; readonly schema: JsonSchema }>>;
  /** Media type → JSON pointer (into the contract) of its schema. */
  readonly content: Readonly<Record<string, string>>;
};

export type ContractOperation = {
  readonly operationId: string;
  readonly method: string;
  readonly path: string;
  readonly isPublic: boolean;
  readonly parameters: readonly ContractParameter[];
  /** JSON pointer of the application/json request body schema, when there is a body. */
  readonly requestBody?: { readonly required: boolean; readonly schemaPointer: string };
  readonly responses: Readonly<Record<string, ContractResponse>>;
};

export const contract: Json = parse(readFileSync(contractPath, 'utf8'));

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/** Follows `$ref`s (local ones only, which is all the contract uses) to the object and its pointer. */
function resolve(node: Json, pointer: string): { node: Json; pointer: string } {
  let current = node;
  let at = pointer;
  while (typeof current.$ref === 'string') {
    at = current.$ref.slice(1);
    current = at
      .split('/')
      .slice(1)
      .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce((object: Json, key) => object[key], contract);
  }
  return { node: current, pointer: at };
}

function operationsOf(): ContractOperation[] {
  const operations: ContractOperation[] = [];
  for (const [path, pathItem] of Object.entries<Json>(contract.paths)) {
    for (const method of methods) {
      const operation: Json | undefined = pathItem[method];
      if (!operation) continue;
      const base = `/paths/${escape(path)}/${method}`;
      const parameters = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])].map((parameter: Json) => {
        const { node } = resolve(parameter, '');
        const example = node.example ?? Object.values<Json>(node.examples ?? {})[0]?.value ?? node.schema?.example;
        return { name: node.name, in: node.in, required: node.required === true, schema: node.schema, ...(example === undefined ? {} : { example }) };
      });
      let requestBody: ContractOperation['requestBody'];
      if (operation.requestBody) {
        const { node, pointer } = resolve(operation.requestBody, `${base}/requestBody`);
        requestBody = { required: node.required === true, schemaPointer: `${pointer}/content/application~1json/schema` };
      }
      const responses: Record<string, ContractResponse> = {};
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        const { node, pointer } = resolve(response, `${base}/responses/${status}`);
        const headers: Record<string, { required: boolean; schema: JsonSchema }> = {};
        for (const [name, header] of Object.entries<Json>(node.headers ?? {})) {
          const resolved = resolve(header, '').node;
          headers[name.toLowerCase()] = { required: resolved.required === true, schema: resolved.schema };
        }
        const content: Record<string, string> = {};
        for (const mediaType of Object.keys(node.content ?? {})) {
          content[mediaType] = `${pointer}/content/${escape(mediaType)}/schema`;
        }
        responses[status] = { headers, content };
      }
      const security = operation.security ?? contract.security ?? [];
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase(),
        path,
        isPublic: security.length === 0,
        parameters,
        ...(requestBody ? { requestBody } : {}),
        responses,
      });
    }
  }
  return operations;
}

/** Every operation in the contract, in document order. */
export const contractOperations: readonly ContractOperation[] = operationsOf();

// The whole contract is registered as one schema document, so `$ref`s inside schemas resolve as
// they do in the contract; OpenAPI 3.1 schemas are JSON Schema 2020-12. Not strict: the contract's
// `example` keywords are annotations Ajv does not know.
const contractId = 'https://tasks-api.invalid/openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ ...contract, $id: contractId });

const compiled = new Map<string, ValidateFunction>();

/** An Ajv validator for the schema at a JSON pointer of the contract. */
export function validatorAt(pointer: string): ValidateFunction {
  let validate = compiled.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `${contractId}#${pointer}` });
    compiled.set(pointer, validate);
  }
  return validate;
}

/** An Ajv validator for an inline schema (parameters, headers), its `$ref`s resolved in the contract. */
export function validatorFor(schema: JsonSchema): ValidateFunction {
  return ajv.compile({ $defs: {}, ...rebase(schema) });
}

function rebase(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema && typeof schema === 'object') {
    return Object.fromEntries(
      Object.entries(schema).map(([key, value]) =>
        key === '$ref' && typeof value === 'string' && value.startsWith('#') ? [key, contractId + value] : [key, rebase(value)],
      ),
    );
  }
  return schema;
}

export type ResponseCheck = { readonly status: number; readonly headers: Headers; readonly body: string };

/**
 * Everything wrong with a response according to the contract: an undocumented status, a media
 * type the operation does not declare, a missing or malformed required header, a body that is not
 * the schema. Empty when the response conforms.
 */
export function contractViolations(operation: ContractOperation, response: ResponseCheck): string[] {
  const documented = operation.responses[String(response.status)] ?? operation.responses.default;
  if (!documented) return [`status ${response.status} is not documented for ${operation.operationId}`];
  const violations: string[] = [];
  for (const [name, header] of Object.entries(documented.headers)) {
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required) violations.push(`required header ${name} is missing`);
      continue;
    }
    const validate = validatorFor(header.schema);
    if (!validate(value)) violations.push(`header ${name}: ${ajv.errorsText(validate.errors)}`);
  }
  const mediaTypes = Object.keys(documented.content);
  if (mediaTypes.length === 0) {
    if (response.body !== '') violations.push(`status ${response.status} documents no body, got ${response.body.slice(0, 200)}`);
    return violations;
  }
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const mediaType = mediaTypes.find((candidate) => candidate === contentType);
  if (!mediaType) return [...violations, `content-type ${contentType || '(none)'} is not one of ${mediaTypes.join(', ')}`];
  let body: unknown = response.body;
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      body = JSON.parse(response.body);
    } catch {
      return [...violations, `the ${mediaType} body is not JSON: ${response.body.slice(0, 200)}`];
    }
  }
  const validate = validatorAt(documented.content[mediaType]!);
  if (!validate(body)) violations.push(`body: ${ajv.errorsText(validate.errors)}`);
  return violations;
}

export type ContractProblemType = { readonly status: number; readonly title: string; readonly description: string };

/** The contract's problem types (the ProblemType schema), by slug: what a problem of each must carry. */
export const contractProblemTypes: ReadonlyMap<string, ContractProblemType> = new Map(
  (contract.components.schemas.ProblemType.oneOf as Json[]).map((entry) => [
    String(entry.const).replace(/^\/problems\//, ''),
    { status: entry['x-status'], title: entry.title, description: entry.description },
  ]),
);
