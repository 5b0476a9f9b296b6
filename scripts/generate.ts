// `make generate` writes generated/ from pinned inputs; `make generated-check` (`--check`) fails when
// a committed file differs from what those inputs give today. Two files:
// - generated/tasks-api.d.ts: the contract's types (openapi-typescript).
// - generated/redoc.standalone.js: the script of the /docs page. Redoc's standalone bundle as
//   @redocly/cli (a devDependency, pinned) ships it, so the production install needs neither the
//   CLI (31 MB) nor the `redoc` package (whose dependency @redocly/redoc-opentelemetry cannot be
//   installed from the registry here), with two changes made here and checked to apply exactly
//   once (an upgrade that moves the code fails this script instead of silently changing the page):
//   1. Redoc's "API docs by" badge loads its logo from cdn.redoc.ly; an empty data: URL makes the
//      image fail, and the badge's own error path hides it, so the page calls no other host.
//   2. Redoc's search probes for eval (`Function(<FlexSearch source>)`, to run the index in a
//      worker built from a string); under the page's CSP (no 'unsafe-eval') the browser refuses
//      it and reports a violation, and Redoc falls back to searching on the page. The probe is
//      answered "no" without calling Function: the same search, and no violation.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { contractPath } from '../src/contract.ts';

function replaceOnce(text: string, pattern: RegExp, replacement: string, what: string): string {
  const matches = text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)) ?? [];
  if (matches.length === 0) throw new Error(`redoc.standalone.js: ${what} not found; check the change still applies to this Redoc`);
  return text.replaceAll(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`), replacement);
}

async function redocBundle(): Promise<string> {
  const source = await readFile(fileURLToPath(import.meta.resolve('@redocly/cli/lib/chunks/redoc.standalone.js')), 'utf8');
  const withoutLogo = replaceOnce(source, /https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(-full)?\.svg/, 'data:,', 'the badge logo URL');
  const evalProbe = /return (\w+)\._factory\?\?=Function\((\w+)\),!0\}catch\{return!1\}/;
  if ((withoutLogo.match(new RegExp(evalProbe.source, 'g')) ?? []).length !== 1) {
    throw new Error('redoc.standalone.js: the search worker eval probe is not there exactly once; check the change still applies');
  }
  return withoutLogo.replace(evalProbe, 'return!1}catch{return!1}');
}

const outputs = [
  { path: '../generated/tasks-api.d.ts', content: async () => COMMENT_HEADER + astToString(await openapiTS(pathToFileURL(contractPath))) },
  { path: '../generated/redoc.standalone.js', content: redocBundle },
];

for (const output of outputs) {
  const url = new URL(output.path, import.meta.url);
  const generated = await output.content();
  const name = output.path.replace('../', '');
  if (process.argv.includes('--check')) {
    const committed = await readFile(url, 'utf8').catch(() => '');
    if (committed !== generated) {
      console.error(`${name} is stale: run \`make generate\` and commit the result.`);
      process.exit(1);
    }
    console.log(`${name} matches its inputs`);
  } else {
    await writeFile(url, generated);
    console.log(`wrote ${name}`);
  }
}
