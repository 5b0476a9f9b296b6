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
  const names = Object.keys(counters) as Name[];
  const before = names.map((name) => counters[name].count());
  for (let index = 0; index < rounds; index += 1) await round();
  return Object.fromEntries(names.map((name, index) => [name, counters[name].count() - before[index]!])) as Record<Name, number>;
}
