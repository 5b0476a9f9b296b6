// Recurrence: the RFC 5545 RRULE subset tasks accept, and the one computation of "which occurrence
// comes next", in the person's IANA time zone on wall-clock time.
//
// How: rrule-temporal expands the rule over *floating* wall-clock times (it is given a start in
// UTC, where no clock ever jumps), and this module turns each wall-clock time into an instant in
// the task's zone itself, the way RFC 5545 §3.3.5 resolves a DATE-TIME with a TZID: a time that
// happens twice (the autumn change) is the first of the two, a time that does not exist (02:30 on
// the spring-forward day) is read with the offset before the gap (so it lands at 03:30), and the
// next day is 02:30 again. Compared against python-dateutil + zoneinfo on RFC 5545's examples and
// DST changes in Paris and New York (README "Recurrence"): rrule-temporal's own zone handling
// drops a nonexistent 02:30 (the task would vanish for a day), rrule 2.8.1's depends on the
// server's TZ, ical.js mis-expands two RFC examples; expanded floating, rrule-temporal matched all.
//
// The series is carried by its *anchor* (the wall-clock time of the current occurrence, which can
// differ from `due_at`'s local time only on a spring-forward day) and the current occurrence's
// number (for COUNT). Each step expands the rule from the anchor: every occurrence of an RRULE
// series generates the same continuation, so this equals expanding from the first DTSTART, and it
// also serves `basis: completion` (re-anchored at the completion).
import { RRuleTemporal } from 'rrule-temporal';
import { Temporal } from 'temporal-polyfill';
import type { FieldError, Recurrence, RecurrenceInput } from './contract.ts';
import { ProblemError } from './problems.ts';

export type { Recurrence };

type Frequency = 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';
const weekdays = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
type Weekday = (typeof weekdays)[number];
type WeekdayNum = { readonly ordinal?: number; readonly weekday: Weekday };

/** A rule of the subset, parsed. */
export type Rule = {
  readonly freq: Frequency;
  readonly interval?: number;
  readonly byMonth?: readonly number[];
  readonly byMonthDay?: readonly number[];
  readonly byDay?: readonly WeekdayNum[];
  readonly bySetPos?: readonly number[];
  readonly wkst?: Weekday;
  readonly count?: number;
  /** UNTIL as written: a UTC date-time (`…T…Z`) or a date (inclusive, in the task's zone). */
  readonly until?: { readonly instant: number } | { readonly date: Temporal.PlainDate };
};

// Bounds that keep every computation small whatever the rule (see nextOccurrence).
export const maxInterval = 1000;
export const maxCount = 100;
/** "No occurrence within ten years" is treated as "no next occurrence". */
const horizonYears = 10;
/** rrule-temporal's cap on candidate times looked at (its cap on periods follows from the horizon). */
const maxCandidates = 200_000;
/** A backstop on wall time, for a rule the caps above did not foresee. */
const maxMilliseconds = 1000;

// ---------------------------------------------------------------------------------------------
// Problems (each cause its own type; see the contract's problem list).

const rulePath = '/body/recurrence/rule';

export const ruleUnsupported = (part: string, message: string) =>
  new ProblemError('recurrence-rule-unsupported', `The recurrence rule uses ${part}, which tasks do not support: ${message}`, {
    errors: [{ path: rulePath, keyword: 'not_allowed', message: `${JSON.stringify(part)}: ${message}.` }],
  });

export const ruleInvalid = (part: string, message: string) =>
  new ProblemError('recurrence-rule-invalid', `The recurrence rule is not valid at ${part}: ${message}`, {
    errors: [{ path: rulePath, keyword: 'invalid', message: `${JSON.stringify(part)}: ${message}.` }],
  });

export const unknownRecurrenceTimeZone = (zone: string) =>
  new ProblemError('unknown-time-zone', `Unknown time zone "${zone}"; use an IANA name such as Europe/Paris.`, {
    errors: [{ path: '/body/recurrence/time_zone', keyword: 'unknown', message: 'The time zone must be an IANA time zone name, such as Europe/Paris.' }],
  });

export const recurrenceNeedsDueDate = (path: string) =>
  new ProblemError('recurrence-needs-due-date', 'A recurring task needs a due date: its first occurrence is due_at.', {
    errors: [{ path, keyword: 'required', message: 'A recurring task must have a due_at.' }],
  });

export const recurrenceNeverOccurs = () =>
  new ProblemError('recurrence-never-occurs', `The recurrence rule yields no occurrence after due_at within ${horizonYears} years.`, {
    errors: [{ path: rulePath, keyword: 'invalid', message: `The rule has no occurrence after due_at within ${horizonYears} years.` } satisfies FieldError],
  });

// ---------------------------------------------------------------------------------------------
// Parsing and normalising.

const supportedParts = ['FREQ', 'INTERVAL', 'BYMONTH', 'BYMONTHDAY', 'BYDAY', 'BYSETPOS', 'WKST', 'COUNT', 'UNTIL'] as const;
type SupportedPart = (typeof supportedParts)[number];
/** RFC 5545 parts outside the subset: refused as unsupported rather than unknown. */
const unsupportedParts = ['BYSECOND', 'BYMINUTE', 'BYHOUR', 'BYYEARDAY', 'BYWEEKNO', 'RSCALE', 'SKIP'];
const frequencies: readonly Frequency[] = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'];
const unsupportedFrequencies = ['SECONDLY', 'MINUTELY', 'HOURLY'];

function integer(part: string, text: string, min: number, max: number, allowSign = false): number {
  const pattern = allowSign ? /^[+-]?\d{1,4}$/ : /^\d{1,4}$/;
  if (!pattern.test(text)) throw ruleInvalid(part, `"${text}" is not ${allowSign ? 'an integer' : 'a positive integer'}`);
  const value = Number(text);
  const magnitude = Math.abs(value);
  if (magnitude < min || magnitude > max || (allowSign && value === 0)) {
    throw ruleInvalid(part, `${text} is out of range (${allowSign ? `${-max} to -${min} or ${min} to ${max}` : `${min} to ${max}`})`);
  }
  return value;
}

function list(part: string, text: string): string[] {
  const items = text.split(',');
  if (items.some((item) => item === '')) throw ruleInvalid(part, 'has an empty list item');
  return items;
}

const sortedUnique = (values: readonly number[]) => [...new Set(values)].sort((a, b) => a - b);

function parseUntil(text: string): NonNullable<Rule['until']> {
  const dateTime = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  const date = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  try {
    if (dateTime) {
      const [, y, mo, d, h, mi, s] = dateTime.map(Number) as number[];
      const instant = Temporal.PlainDateTime.from({ year: y!, month: mo!, day: d!, hour: h!, minute: mi!, second: s! }, { overflow: 'reject' })
        .toZonedDateTime('UTC').epochMilliseconds;
      return { instant };
    }
    if (date) {
      const [, y, mo, d] = date.map(Number) as number[];
      return { date: Temporal.PlainDate.from({ year: y!, month: mo!, day: d! }, { overflow: 'reject' }) };
    }
  } catch {
    // An impossible date (20260230): the same answer as a malformed one.
  }
  throw ruleInvalid('UNTIL', `"${text}" is not a UTC date-time (20261231T235959Z) or a date (20261231)`);
}

/**
 * Parses a rule of the subset (case-insensitive, as RFC 5545 §3.1 says), or throws a 422 naming
 * the offending part: `ruleUnsupported` for RFC 5545 parts and values tasks do not do,
 * `ruleInvalid` for anything RFC 5545 itself does not allow.
 */
export function parseRule(text: string): Rule {
  if (/^RRULE:/i.test(text)) throw ruleInvalid('RRULE:', 'send the rule value without the "RRULE:" prefix');
  const seen = new Map<SupportedPart, string>();
  for (const part of text.split(';')) {
    if (part === '') throw ruleInvalid(';', 'empty part (a doubled or trailing ";")');
    const equals = part.indexOf('=');
    const name = (equals < 0 ? part : part.slice(0, equals)).toUpperCase();
    const value = equals < 0 ? '' : part.slice(equals + 1).toUpperCase();
    if (unsupportedParts.includes(name)) throw ruleUnsupported(name, 'only FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT and UNTIL are');
    if (!(supportedParts as readonly string[]).includes(name)) throw ruleInvalid(name || part, 'not an RRULE part');
    if (equals < 0 || value === '') throw ruleInvalid(name, 'has no value');
    if (seen.has(name as SupportedPart)) throw ruleInvalid(name, 'appears more than once');
    seen.set(name as SupportedPart, value);
  }
  const freqText = seen.get('FREQ');
  if (freqText === undefined) throw ruleInvalid('FREQ', 'is required');
  if (unsupportedFrequencies.includes(freqText)) throw ruleUnsupported(`FREQ=${freqText}`, 'only DAILY, WEEKLY, MONTHLY and YEARLY are');
  if (!(frequencies as readonly string[]).includes(freqText)) throw ruleInvalid('FREQ', `"${freqText}" is not a frequency`);
  const freq = freqText as Frequency;

  const rule: { -readonly [K in keyof Rule]: Rule[K] } = { freq };
  const interval = seen.get('INTERVAL');
  if (interval !== undefined) rule.interval = integer('INTERVAL', interval, 1, maxInterval);
  const byMonth = seen.get('BYMONTH');
  if (byMonth !== undefined) rule.byMonth = sortedUnique(list('BYMONTH', byMonth).map((item) => integer('BYMONTH', item, 1, 12)));
  const byMonthDay = seen.get('BYMONTHDAY');
  if (byMonthDay !== undefined) {
    if (freq === 'WEEKLY') throw ruleInvalid('BYMONTHDAY', 'is not allowed with FREQ=WEEKLY (RFC 5545)');
    rule.byMonthDay = sortedUnique(list('BYMONTHDAY', byMonthDay).map((item) => integer('BYMONTHDAY', item, 1, 31, true)));
  }
  const byDay = seen.get('BYDAY');
  if (byDay !== undefined) {
    const parsed = list('BYDAY', byDay).map((item): WeekdayNum => {
      const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item);
      if (!match) throw ruleInvalid('BYDAY', `"${item}" is not a weekday (MO…SU), optionally with an ordinal (1MO, -1FR)`);
      const weekday = match[2] as Weekday;
      if (match[1] === undefined) return { weekday };
      if (freq !== 'MONTHLY' && freq !== 'YEARLY') {
        throw ruleInvalid('BYDAY', `"${item}": an ordinal is allowed only with FREQ=MONTHLY or FREQ=YEARLY (RFC 5545)`);
      }
      const limit = freq === 'MONTHLY' ? 5 : 53;
      return { ordinal: integer('BYDAY', match[1], 1, limit, true), weekday };
    });
    const key = (day: WeekdayNum) => `${day.ordinal ?? 0}${day.weekday}`;
    const unique = [...new Map(parsed.map((day) => [key(day), day])).values()];
    rule.byDay = unique.sort((a, b) => weekdays.indexOf(a.weekday) - weekdays.indexOf(b.weekday) || (a.ordinal ?? 0) - (b.ordinal ?? 0));
  }
  const bySetPos = seen.get('BYSETPOS');
  if (bySetPos !== undefined) {
    if (byMonth === undefined && byMonthDay === undefined && byDay === undefined) {
      throw ruleInvalid('BYSETPOS', 'needs another BYxxx part to choose among (RFC 5545)');
    }
    rule.bySetPos = sortedUnique(list('BYSETPOS', bySetPos).map((item) => integer('BYSETPOS', item, 1, 366, true)));
  }
  const wkst = seen.get('WKST');
  if (wkst !== undefined) {
    if (!(weekdays as readonly string[]).includes(wkst)) throw ruleInvalid('WKST', `"${wkst}" is not a weekday (MO…SU)`);
    rule.wkst = wkst as Weekday;
  }
  const count = seen.get('COUNT');
  const until = seen.get('UNTIL');
  if (count !== undefined && until !== undefined) throw ruleInvalid('COUNT', 'COUNT and UNTIL must not both be given (RFC 5545)');
  if (count !== undefined) rule.count = integer('COUNT', count, 1, maxCount);
  if (until !== undefined) rule.until = parseUntil(until);
  return rule;
}

const formatDay = (day: WeekdayNum) => `${day.ordinal ?? ''}${day.weekday}`;
const pad = (value: number, length = 2) => String(value).padStart(length, '0');

function formatUntil(until: NonNullable<Rule['until']>): string {
  if ('date' in until) return `${pad(until.date.year, 4)}${pad(until.date.month)}${pad(until.date.day)}`;
  const at = Temporal.Instant.fromEpochMilliseconds(until.instant).toZonedDateTimeISO('UTC');
  return `${pad(at.year, 4)}${pad(at.month)}${pad(at.day)}T${pad(at.hour)}${pad(at.minute)}${pad(at.second)}Z`;
}

/**
 * The rule as stored and returned: upper case, parts in one fixed order (FREQ, INTERVAL, BYMONTH,
 * BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT, UNTIL), list values sorted without repeats. With
 * `forExpansion`, COUNT and UNTIL are left out: nextOccurrence applies them itself.
 */
export function formatRule(rule: Rule, forExpansion = false): string {
  return [
    `FREQ=${rule.freq}`,
    rule.interval !== undefined && `INTERVAL=${rule.interval}`,
    rule.byMonth && `BYMONTH=${rule.byMonth.join(',')}`,
    rule.byMonthDay && `BYMONTHDAY=${rule.byMonthDay.join(',')}`,
    rule.byDay && `BYDAY=${rule.byDay.map(formatDay).join(',')}`,
    rule.bySetPos && `BYSETPOS=${rule.bySetPos.join(',')}`,
    rule.wkst && `WKST=${rule.wkst}`,
    !forExpansion && rule.count !== undefined && `COUNT=${rule.count}`,
    !forExpansion && rule.until && `UNTIL=${formatUntil(rule.until)}`,
  ]
    .filter((part) => typeof part === 'string')
    .join(';');
}

/** The zone's canonical spelling, or undefined when it is not an IANA zone this runtime knows. */
export function canonicalTimeZone(zone: string): string | undefined {
  // Offsets ("+01:00") are valid Temporal zones but not IANA names: a fixed offset has no DST.
  if (!/^[A-Za-z]/.test(zone)) return undefined;
  try {
    return Temporal.Now.zonedDateTimeISO(zone).timeZoneId;
  } catch {
    return undefined;
  }
}

/** A request's recurrence, checked and normalised (throws the 422s above). */
export function normaliseRecurrence(input: RecurrenceInput): Recurrence {
  const rule = formatRule(parseRule(input.rule));
  const zone = input.time_zone ?? 'UTC';
  const timeZone = canonicalTimeZone(zone);
  if (timeZone === undefined) throw unknownRecurrenceTimeZone(zone);
  return { rule, time_zone: timeZone, basis: input.basis ?? 'due' };
}

// ---------------------------------------------------------------------------------------------
// Wall-clock time and instants.

/** A wall-clock time as stored (`recurrence_anchor`, a `timestamp` without zone): `2026-03-29T02:30:00.000`. */
export type WallTime = string;

const toWall = (time: Temporal.PlainDateTime): WallTime => time.toString({ fractionalSecondDigits: 3 });

/** The wall-clock time an instant has in the zone. */
export const wallTimeAt = (instant: string | number, zone: string): WallTime =>
  toWall(
    (typeof instant === 'number' ? Temporal.Instant.fromEpochMilliseconds(instant) : Temporal.Instant.from(instant))
      .toZonedDateTimeISO(zone)
      .toPlainDateTime(),
  );

/** The instant of a wall-clock time in the zone, RFC 5545 §3.3.5: first of two, or offset before a gap. */
const instantOf = (wall: Temporal.PlainDateTime, zone: string) =>
  wall.toZonedDateTime(zone, { disambiguation: 'compatible' }).epochMilliseconds;

const isoOf = (epochMilliseconds: number) => new Date(epochMilliseconds).toISOString();

// ---------------------------------------------------------------------------------------------
// The next occurrence.

/** Where a series stands: its rule, zone, the current occurrence's wall-clock time and number. */
export type SeriesPosition = {
  readonly recurrence: Recurrence;
  readonly anchor: WallTime;
  /** The current occurrence's number in the series, from 1 (COUNT counts these). */
  readonly index: number;
};

export type Occurrence = { readonly dueAt: string; readonly anchor: WallTime; readonly index: number };

/** A computation that hit the time backstop: the rule is too costly to compute (a 422 at write time). */
export const recurrenceTooComplex = () =>
  new ProblemError('recurrence-too-complex', 'The recurrence rule takes too long to compute; simplify it.', {
    errors: [{ path: rulePath, keyword: 'invalid', message: 'The rule is too costly to compute.' }],
  });

const periodsPerYear: Readonly<Record<Frequency, number>> = { DAILY: 366, WEEKLY: 53, MONTHLY: 12, YEARLY: 1 };
const daysPerPeriod: Readonly<Record<Frequency, number>> = { DAILY: 1, WEEKLY: 7, MONTHLY: 31, YEARLY: 366 };

type Expansion = {
  readonly rule: Rule;
  readonly zone: string;
  readonly anchor: Temporal.PlainDateTime;
  readonly horizon: Temporal.PlainDateTime;
  readonly library: RRuleTemporal;
  readonly started: number;
};

/**
 * The series from its current occurrence, as rrule-temporal sees it: DTSTART is the anchor (always
 * an occurrence, even the first due date that does not match the rule, as RFC 5545 says), COUNT
 * what is left of it, and no UNTIL (applied here to instants). The horizon is ten years after the
 * later of the anchor and `after`; the periods rrule-temporal may advance are the span to it.
 */
function expansionOf(position: SeriesPosition, afterWall: Temporal.PlainDateTime): Expansion {
  const rule = parseRule(position.recurrence.rule);
  const anchor = Temporal.PlainDateTime.from(position.anchor);
  const horizon = (Temporal.PlainDateTime.compare(afterWall, anchor) > 0 ? afterWall : anchor).add({ years: horizonYears });
  const library = new RRuleTemporal({
    rruleString: formatRule(rule, true),
    // Floating: expanded in UTC, where wall-clock time never jumps; instantOf applies the zone.
    dtstart: anchor.toZonedDateTime('UTC'),
    includeDtstart: true,
    ...(rule.count === undefined ? {} : { count: Math.max(1, rule.count - position.index + 1) }),
    maxIterations: Math.ceil(((horizon.year - anchor.year + 1) * periodsPerYear[rule.freq]) / (rule.interval ?? 1)) + 5,
    maxCandidateEvaluations: maxCandidates,
    cache: false,
  });
  return { rule, zone: position.recurrence.time_zone, anchor, horizon, library, started: performance.now() };
}

/** Runs one rrule-temporal call under the time backstop; its caps mean "nothing (more) found". */
function bounded<T>(expansion: Expansion, call: () => T, none: T): T {
  if (performance.now() - expansion.started > maxMilliseconds) throw recurrenceTooComplex();
  try {
    return call();
  } catch (error) {
    // rrule-temporal throws "Maximum iterations (…) exceeded" at its caps: the horizon was reached.
    if (error instanceof Error && /maximum/i.test(error.message)) return none;
    throw error;
  }
}

const floating = (wall: Temporal.PlainDateTime) => wall.toZonedDateTime('UTC');

/**
 * The occurrences after the series' current one that are due after `after` (epoch ms), in order,
 * at most `limit` of them: fewer when COUNT or UNTIL ends the series or none falls within ten
 * years of the later of the anchor and `after`. Bounded whatever the rule: rrule-temporal may
 * advance only the periods up to that horizon and look at `maxCandidates` candidate times; it is
 * asked for growing windows (at most ~12 calls to cover ten years); past `maxMilliseconds` the
 * computation stops with `recurrenceTooComplex`. Occurrences missed while a task was overdue are
 * jumped over, not walked (the windows start two days before `after`: the widest a wall-clock
 * time and its instant can disagree, with room to spare). The `index` of each is not filled in
 * (see nextOccurrence).
 */
export function upcomingOccurrences(position: SeriesPosition, after: number, limit: number): Occurrence[] {
  const afterWall = Temporal.Instant.fromEpochMilliseconds(after).toZonedDateTimeISO(position.recurrence.time_zone).toPlainDateTime();
  const expansion = expansionOf(position, afterWall);
  const { rule, zone, anchor, horizon, library } = expansion;
  const found: Occurrence[] = [];
  const nearAfter = afterWall.subtract({ days: 2 });
  // With COUNT, the occurrences' numbers matter and what is left of the series is at most
  // `maxCount` long: one window from the anchor to the horizon holds all of it, in one call.
  // Without, start near `after` with a window about `limit` periods wide, doubling.
  const counted = rule.count !== undefined;
  let from = !counted && Temporal.PlainDateTime.compare(nearAfter, anchor) > 0 ? nearAfter : anchor;
  let days = counted ? horizonYears * 366 + 1 : Math.max(2, limit * daysPerPeriod[rule.freq] * (rule.interval ?? 1));
  let index = position.index;
  // Wall-clock times compare as fixed-width ISO strings; only the few near `after` are turned
  // into Temporal objects and instants (a counted series may hold hundreds before it).
  let last = toWall(anchor);
  const nearAfterText = toWall(nearAfter);
  while (found.length < limit && Temporal.PlainDateTime.compare(from, horizon) < 0) {
    const windowEnd = from.add({ days });
    const to = Temporal.PlainDateTime.compare(windowEnd, horizon) < 0 ? windowEnd : horizon;
    const times = bounded(expansion, () => library.between(floating(from), floating(to), true), []);
    for (const time of times) {
      const wallText = time.toPlainDateTime().toString({ fractionalSecondDigits: 3 });
      // Windows share their edges; the anchor itself is the current occurrence, not a next one.
      if (wallText <= last) continue;
      last = wallText;
      index += 1;
      // Two days before `after`, a wall-clock time is due before it in any zone (and one past
      // UNTIL means every later one is too, which the first one near `after` shows).
      if (wallText < nearAfterText) continue;
      const wall = Temporal.PlainDateTime.from(wallText);
      const dueAt = instantOf(wall, zone);
      const until = rule.until;
      if (until && ('instant' in until ? dueAt > until.instant : Temporal.PlainDate.compare(wall.toPlainDate(), until.date) > 0)) return found;
      if (dueAt <= after) continue;
      found.push({ dueAt: isoOf(dueAt), anchor: wallText, index: counted ? index : position.index + found.length + 1 });
      if (found.length === limit) return found;
    }
    from = to;
    days *= 2;
  }
  return found;
}

/**
 * The next occurrence due after `after`, with its number in the series, or null when the series
 * has ended (COUNT, UNTIL, or nothing within ten years).
 */
export const nextOccurrence = (position: SeriesPosition, after: number): Occurrence | null =>
  upcomingOccurrences(position, after, 1)[0] ?? null;

/**
 * Checks a series that starts at `dueAt` (a new recurrence, or a recurring task created): it needs
 * a due date, and an occurrence after it within ten years. Throws the 422s above.
 */
export function checkNewSeries(recurrence: Recurrence, dueAt: string | null): void {
  if (dueAt === null) throw recurrenceNeedsDueDate('/body/due_at');
  const start = { recurrence, anchor: wallTimeAt(dueAt, recurrence.time_zone), index: 1 };
  if (nextOccurrence(start, Date.parse(dueAt)) === null) throw recurrenceNeverOccurs();
}
