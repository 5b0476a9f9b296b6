// The API as `make bench` runs it (src/server.ts: its configuration, every middleware at its
// production default, the contract, auth, the request log), except that each operation answers
// what its real handler answered the first time it succeeded: from then on, no handler code and no
// SQL run on the request path. What this process costs per request is the floor the
// HTTP stack sets for the API whatever its handlers and the database cost (README "Performance").
// Started by bench.ts (phase `stack`), from the checkout being measured (its working directory).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type Handler = (input: unknown, context: unknown) => Promise<unknown>;
const source = (file: string) => pathToFileURL(path.resolve(file)).href;

const { handlers } = (await import(source('src/handlers.ts'))) as { handlers: Record<string, Handler> };
for (const [operationId, handler] of Object.entries(handlers)) {
  // /health and /ready stay real: the benchmark waits for /ready, which asks the database.
  if (operationId === 'health' || operationId === 'ready') continue;
  let answer: unknown;
  handlers[operationId] = async (input, context) => (answer ??= await handler(input, context));
}
await import(source('src/server.ts'));
