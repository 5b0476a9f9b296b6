// Counting the calls a library makes to one of its own functions, by wrapping the function where
// the library reads it at each call (a module's export object, a class prototype). This is how the
// tests of our patches to express-openapi-validator (patches/) show that work left the hot path:
// timings would not hold on a busy machine, counts do.

export type CallCount = {
  /** Calls since counting began. */
  readonly count: () => number;
  /** Puts the original function back. */
  readonly restore: () => void;
};

type Callable = (this: unknown, ...args: unknown[]) => unknown;

/** Counts calls of `owner[name]` (those `counted` accepts, by their arguments) until `restore()`. */
export function countCalls(owner: object, name: string, counted: (args: unknown[]) => boolean = () => true): CallCount {
  const target = owner as Record<string, Callable>;
  const original = target[name];
  if (typeof original !== 'function') throw new TypeError(`${name} is not a function here`);
  let calls = 0;
  target[name] = function (this: unknown, ...args: unknown[]) {
    if (counted(args)) calls += 1;
    return original.apply(this, args);
  };
  return { count: () => calls, restore: () => (target[name] = original) };
}

/** Each counter's calls since `since` (a snapshot of `counters` taken by calling this without it). */
export function callsSince<Name extends string>(counters: Record<Name, CallCount>, since?: Record<Name, number>): Record<Name, number> {
  const names = Object.keys(counters) as Name[];
  return Object.fromEntries(names.map((name) => [name, counters[name].count() - (since?.[name] ?? 0)])) as Record<Name, number>;
}

/**
 * Runs `round` once (caches fill, matchers compile), then `rounds` more times, and answers how many
 * calls each counter saw in those later rounds: 0 each when the work is done once, not per request.
 */
export async function callsAfterFirstRound<Name extends string>(
  round: () => Promise<void>,
  counters: Record<Name, CallCount>,
  rounds = 5,
): Promise<Record<Name, number>> {
  await round();
  const before = callsSince(counters);
  for (let index = 0; index < rounds; index += 1) await round();
  return callsSince(counters, before);
}
