// The fixed mixed workload, independent of what executes it (the API over HTTP, or the same SQL
// straight at PostgreSQL): `connections` loops, each issuing one operation at a time until the
// deadline. Every operation acts for a random user on that user's own tasks only; ids are tracked
// so that gets, updates and deletes always name a task that exists. A task picked for deletion is
// taken out of the pool first, and only once no other loop is using it, so no operation ever races
// a delete into a 404.

export const operations = ['list', 'get', 'create', 'update', 'complete', 'delete'] as const;
export type Operation = (typeof operations)[number];

// 50% list, 25% get, 10% create, 10% update or complete (half each), 5% delete.
const mix: ReadonlyArray<readonly [Operation, number]> = [
  ['list', 50],
  ['get', 25],
  ['create', 10],
  ['update', 5],
  ['complete', 5],
  ['delete', 5],
];

/** What executes an operation. Resolves with the HTTP-like status, rejects on a transport error. */
export type Target = {
  readonly list: (userIndex: number) => Promise<number>;
  readonly get: (userIndex: number, taskId: string) => Promise<number>;
  readonly create: (userIndex: number) => Promise<{ status: number; taskId?: string }>;
  readonly update: (userIndex: number, taskId: string) => Promise<number>;
  readonly complete: (userIndex: number, taskId: string) => Promise<number>;
  readonly delete: (userIndex: number, taskId: string) => Promise<number>;
};

const expectedStatus: Record<Operation, number> = { list: 200, get: 200, create: 201, update: 200, complete: 200, delete: 204 };

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

function pickOperation(): Operation {
  let roll = Math.random() * 100;
  for (const [operation, weight] of mix) {
    roll -= weight;
    if (roll < 0) return operation;
  }
  return 'list';
}

export async function runWorkload(
  target: Target,
  ids: TaskIds,
  options: { readonly connections: number; readonly seconds: number; readonly warmupSeconds?: number },
): Promise<WorkloadResult> {
  const latencies = Object.fromEntries(operations.map((op) => [op, [] as number[]])) as Record<Operation, number[]>;
  const non2xx = Object.fromEntries(operations.map((op) => [op, 0])) as Record<Operation, number>;
  const errors = Object.fromEntries(operations.map((op) => [op, 0])) as Record<Operation, number>;
  const statuses: Record<string, number> = {};
  const errorSamples: string[] = [];
  const warmupEnd = performance.now() + (options.warmupSeconds ?? 0) * 1000;
  const end = warmupEnd + options.seconds * 1000;
  let measuredFrom = 0;

  const once = async (): Promise<void> => {
    const userIndex = Math.floor(Math.random() * ids.users);
    let operation = pickOperation();
    let taskId: string | undefined;
    if (operation === 'delete') taskId = ids.takeForDelete(userIndex);
    else if (operation !== 'list' && operation !== 'create') taskId = ids.take(userIndex);
    if (operation !== 'list' && operation !== 'create' && taskId === undefined) operation = 'create';
    const startedAt = performance.now();
    let status: number;
    try {
      if (operation === 'list') status = await target.list(userIndex);
      else if (operation === 'create') {
        const created = await target.create(userIndex);
        status = created.status;
        if (created.taskId) ids.add(userIndex, created.taskId);
      } else status = await target[operation](userIndex, taskId!);
    } catch (error) {
      status = -1;
      if (errorSamples.length < 5) errorSamples.push(`${operation}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (taskId !== undefined && operation !== 'delete') ids.release(taskId);
    }
    const finishedAt = performance.now();
    if (startedAt < warmupEnd || finishedAt > end) return; // outside the measured window
    if (measuredFrom === 0) measuredFrom = startedAt;
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

export function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}
