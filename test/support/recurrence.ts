// Helpers for the recurrence tests: recurring tasks made through the API, and wall-clock arithmetic
// done independently of the API's own (Temporal directly).
import { expect } from 'chai';
import { Temporal } from 'temporal-polyfill';
import type { Task } from '../../src/contract.ts';
import type { TestApi, TestUser } from './api.ts';
import { bearer, createTaskAs } from './tasks.ts';

export type RecurringFields = {
  readonly due_at: string;
  readonly rule: string;
  readonly time_zone?: string;
  readonly basis?: 'due' | 'completion';
};

export async function createRecurringTask(api: TestApi, user: TestUser, fields: RecurringFields, extra: Record<string, unknown> = {}): Promise<Task> {
  const recurrence: Record<string, string> = { rule: fields.rule };
  if (fields.time_zone !== undefined) recurrence.time_zone = fields.time_zone;
  if (fields.basis !== undefined) recurrence.basis = fields.basis;
  return createTaskAs(api, user, { title: 'Recurring', due_at: fields.due_at, recurrence, ...extra });
}

/** The instant of a wall-clock time in a zone (RFC 5545 §3.3.5: the earlier of two, the offset before a gap). */
export const instantOf = (wallClock: string, zone: string): string =>
  Temporal.PlainDateTime.from(wallClock).toZonedDateTime(zone, { disambiguation: 'compatible' }).toInstant().toString({ fractionalSecondDigits: 3 });

/** The first time after now at which the wall clock in `zone` reads `time` (HH:MM), `days` apart from today. */
export function nextWallClock(time: string, zone: string, after = Date.now()): string {
  const today = Temporal.Instant.fromEpochMilliseconds(after).toZonedDateTimeISO(zone).toPlainDate();
  for (let day = 0; ; day += 1) {
    const candidate = instantOf(`${today.add({ days: day }).toString()}T${time}`, zone);
    if (Date.parse(candidate) > after) return candidate;
  }
}

/** The local date (YYYY-MM-DD) an instant has in a zone. */
export const localDate = (instant: string | number, zone: string): string =>
  (typeof instant === 'number' ? Temporal.Instant.fromEpochMilliseconds(instant) : Temporal.Instant.from(instant))
    .toZonedDateTimeISO(zone)
    .toPlainDate()
    .toString();

/** The task's completions, newest first (one page: the tests make fewer than 200). */
export async function completionsOf(api: TestApi, user: TestUser, taskId: string) {
  const response = await api.http.get(`/api/tasks/${taskId}/completions?limit=200`).set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  return response.body as { id: string; task_id: string; occurrence_due_at: string | null; completed_at: string }[];
}
