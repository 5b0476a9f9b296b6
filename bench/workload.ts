// The fixed mixed workload, independent of what executes it (the API over HTTP, or the same SQL
// straight at PostgreSQL): `connections` loops, each issuing one operation at a time until the
// deadline. Every operation acts for a random user on that user's own tasks only; ids are tracked
// so that gets, updates and deletes always name a task that exists. A task picked for deletion is
// taken out of the pool first, and only once no other loop is using it, so no operation ever races
// a delete into a 404.

export const operations = ['list', 'filter', 'search', 'sorted', 'deep', 'get', 'create', 'update', 'complete', 'delete'] as const;
export type Operation = (typeof operations)[number];

/**
 * The mixes (BENCH_MIX). `standard`: 50% list (first page), 25% get, 10% create, 10% update or
 * complete (half each), 5% delete. `domain` adds the list's domain queries: filters (status and
 * priority, a tag), a full-text search, a sort on due dates, and pages reached by following the
 * cursor of the previous page (`deep`, pages of 10). When lists in manual order and recurring
 * tasks land, their operations join this mix (a list's tasks in position order, completing a
 * recurring task) with their own weights.
 */
export const mixes = {
  standard: [
    ['list', 50],
    ['get', 25],
    ['create', 10],
    ['update', 5],
    ['complete', 5],
    ['delete', 5],
  ],
  domain: [
    ['list', 15],
    ['filter', 10],
    ['search', 10],
    ['sorted', 5],
    ['deep', 10],
    ['get', 20],
    ['create', 10],
    ['update', 5],
    ['complete', 10],
    ['delete', 5],
  ],
} as const satisfies Record<string, ReadonlyArray<readonly [Operation, number]>>;
export type MixName = keyof typeof mixes;

/** The list's query parameters, as the contract names them (what the validator hands the handler). */
export type ListQuery = {
  readonly limit?: number;
  readonly cursor?: string;
  readonly sort?: string;
  readonly status?: readonly string[];
  readonly priority?: readonly string[];
  readonly tag?: readonly string[];
  readonly q?: string;
};

/** What each list operation asks for. The seed (bench.ts) makes every one of them match tasks. */
export const listQueries = {
  list: {},
  filter: { status: ['pending', 'in_progress'], priority: ['high'] },
  search: { q: 'report' },
  sorted: { sort: 'due_at', tag: ['home'] },
  deep: { limit: 10 },
} as const satisfies Record<string, ListQuery>;

/** The `cursor` of a response's `Link: <…cursor=…>; rel="next"`, if there is one. */
export function nextCursorOf(link: string | undefined): string | undefined {
  const next = link?.split(',').find((part) => part.includes('rel="next"'));
  const cursor = next && /[?&]cursor=([^&>]+)/.exec(next)?.[1];
  return cursor ? decodeURIComponent(cursor) : undefined;
}

/** What executes an operation. Resolves with the HTTP-like status, rejects on a transport error. */
export type Target = {
  readonly list: (userIndex: number, query: ListQuery) => Promise<{ status: number; nextCursor?: string }>;
  readonly get: (userIndex: number, taskId: string) => Promise<number>;
  readonly create: (userIndex: number) => Promise<{ status: number; taskId?: string }>;
  readonly update: (userIndex: number, taskId: string) => Promise<number>;
  readonly complete: (userIndex: number, taskId: string) => Promise<number>;
  readonly delete: (userIndex: number, taskId: string) => Promise<number>;
};

const expectedStatus: Record<Operation, number> = {
  list: 200,
  filter: 200,
  search: 200,
  sorted: 200,
  deep: 200,
  get: 200,
  create: 201,
  update: 200,
  complete: 200,
  delete: 204,
};

const isList = (operation: Operation): operation is keyof typeof listQueries => operation in listQueries;

/** Each user's task ids, with a count of operations in flight on each. */
export class TaskIds {
  readonly #byUser: string[][];
  readonly #inFlight = new Map<string, number>();

  constructor(byUser: string[][]) {
    this.#byUser = byUser.map((ids) => [...ids]);
  }

  get users(): number {
    return this.#byUser.length;
  }

  /** A random existing task of the user, marked in use; undefined when the user has none. */
  take(userIndex: number): string | undefined {
    const ids = this.#byUser[userIndex]!;
    if (ids.length === 0) return undefined;
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    this.#inFlight.set(id, (this.#inFlight.get(id) ?? 0) + 1);
    return id;
  }

  release(id: string): void {
    const count = this.#inFlight.get(id)! - 1;
    if (count === 0) this.#inFlight.delete(id);
    else this.#inFlight.set(id, count);
  }

  /** A random task of the user that nothing else is using, removed from the pool. */
  takeForDelete(userIndex: number): string | undefined {
    const ids = this.#byUser[userIndex]!;
    for (let attempt = 0; attempt < 4 && ids.length > 0; attempt += 1) {
      const index = Math.floor(Math.random() * ids.length);
      const id = ids[index]!;
      if (this.#inFlight.has(id)) continue;
      ids[index] = ids[ids.length - 1]!;
      ids.pop();
      return id;
    }
    return undefined;
  }

  add(userIndex: number, id: string): void {
    this.#byUser[userIndex]!.push(id);
  }
}

export type OperationResult = {
  readonly count: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Latencies in milliseconds, sorted. */
  readonly latenciesMs: Float64Array;
};

export type WorkloadResult = {
  readonly seconds: number;
  readonly requests: number;
  readonly byOperation: Record<Operation, OperationResult>;
  readonly overall: OperationResult;
  /** Unexpected statuses by operation and status, and the first few error messages. */
  readonly statuses: Record<string, number>;
  readonly errorSamples: string[];
};

function pickOperation(mix: ReadonlyArray<readonly [Operation, number]>): Operation {
  let roll = Math.random() * 100;
  for (const [operation, weight] of mix) {
    roll -= weight;
    if (roll < 0) return operation;
  }
  return mix[0]![0];
}

export async function runWorkload(
  target: Target,
  ids: TaskIds,
  options: {
    readonly connections: number;
    readonly seconds: number;
    readonly warmupSeconds?: number;
    readonly mix?: ReadonlyArray<readonly [Operation, number]>;
  },
): Promise<WorkloadResult> {
  const mix = options.mix ?? mixes.standard;
  const latencies = Object.fromEntries(operations.map((op) => [op, [] as number[]])) as Record<Operation, number[]>;
  const non2xx = Object.fromEntries(operations.map((op) => [op, 0])) as Record<Operation, number>;
  const errors = Object.fromEntries(operations.map((op) => [op, 0])) as Record<Operation, number>;
  const statuses: Record<string, number> = {};
  const errorSamples: string[] = [];
  // `deep`: each user's next page, from the Link of the user's previous `deep` page.
  const cursors = new Map<number, string>();
  const warmupEnd = performance.now() + (options.warmupSeconds ?? 0) * 1000;
  const end = warmupEnd + options.seconds * 1000;

  const once = async (): Promise<void> => {
    const userIndex = Math.floor(Math.random() * ids.users);
    let operation = pickOperation(mix);
    let taskId: string | undefined;
    if (operation === 'delete') taskId = ids.takeForDelete(userIndex);
    else if (!isList(operation) && operation !== 'create') taskId = ids.take(userIndex);
    if (!isList(operation) && operation !== 'create' && taskId === undefined) operation = 'create';
    const startedAt = performance.now();
    let status: number;
    try {
      status = await runOperation(target, operation, userIndex, taskId, cursors, (id) => ids.add(userIndex, id));
    } catch (error) {
      status = -1;
      if (errorSamples.length < 5) errorSamples.push(`${operation}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (taskId !== undefined && operation !== 'delete') ids.release(taskId);
    }
    const finishedAt = performance.now();
    if (startedAt < warmupEnd || finishedAt > end) return; // outside the measured window
    latencies[operation].push(finishedAt - startedAt);
    if (status === -1) errors[operation] += 1;
    else if (status !== expectedStatus[operation]) {
      non2xx[operation] += 1;
      statuses[`${operation} ${status}`] = (statuses[`${operation} ${status}`] ?? 0) + 1;
    }
  };

  const loop = async () => {
    while (performance.now() < end) await once();
  };
  await Promise.all(Array.from({ length: options.connections }, loop));

  const summarise = (values: number[], bad: number, failed: number): OperationResult => ({
    count: values.length,
    non2xx: bad,
    errors: failed,
    latenciesMs: Float64Array.from(values).sort(),
  });
  const byOperation = Object.fromEntries(
    operations.map((op) => [op, summarise(latencies[op], non2xx[op], errors[op])]),
  ) as Record<Operation, OperationResult>;
  const all = operations.flatMap((op) => latencies[op]);
  const overall = summarise(
    all,
    operations.reduce((sum, op) => sum + non2xx[op], 0),
    operations.reduce((sum, op) => sum + errors[op], 0),
  );
  return { seconds: options.seconds, requests: all.length, byOperation, overall, statuses, errorSamples };
}

/** Runs one operation for the user; `taskId` is set for get, update, complete and delete. */
export async function runOperation(
  target: Target,
  operation: Operation,
  userIndex: number,
  taskId: string | undefined,
  cursors: Map<number, string>,
  created: (taskId: string) => void,
): Promise<number> {
  if (isList(operation)) {
    const cursor = operation === 'deep' ? cursors.get(userIndex) : undefined;
    const page = await target.list(userIndex, cursor === undefined ? listQueries[operation] : { ...listQueries[operation], cursor });
    if (operation === 'deep') {
      if (page.nextCursor === undefined) cursors.delete(userIndex);
      else cursors.set(userIndex, page.nextCursor);
    }
    return page.status;
  }
  if (operation === 'create') {
    const result = await target.create(userIndex);
    if (result.taskId) created(result.taskId);
    return result.status;
  }
  return target[operation](userIndex, taskId!);
}

export function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}
