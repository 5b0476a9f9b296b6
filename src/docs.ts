// The documentation routes: the contract itself (YAML byte for byte, and as JSON) and a Redoc page
// that renders it. Everything the page needs comes from this origin: Redoc's standalone bundle,
// taken from the pinned @redocly/cli at `make generate` time into generated/redoc.standalone.js
// (scripts/generate.ts says what it changes and why), served from /docs/redoc.standalone.js, so
// the page works offline, behind a strict CSP, and the production install needs no Redocly package.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { contractPath, type DocumentationOperationId, type OpenApiDocument, type PublicHandler } from './contract.ts';
import { ProblemError } from './problems.ts';

// Read on first use, then kept: the contract and the bundle only change with a deploy, and a
// server that nobody asks for docs should not pay 2 MB and a YAML parse at start-up.
const once = <T>(load: () => T): (() => T) => {
  let value: { readonly loaded: T } | undefined;
  return () => (value ??= { loaded: load() }).loaded;
};
const contractYaml = once(() => readFileSync(contractPath, 'utf8'));
// The YAML parser too: importing it is a tenth of a second of every start on a busy machine.
const contractJson = once(async () => (await import('yaml')).parse(contractYaml()) as OpenApiDocument);
const redocBundle = once(() => readFileSync(fileURLToPath(new URL('../generated/redoc.standalone.js', import.meta.url)), 'utf8'));

// Redoc 3's bundle is an ES module; the page imports it and starts it with telemetry off (Redoc
// otherwise reports usage to Redocly, a request to another host).
const startRedoc = `
import { init } from '/docs/redoc.standalone.js';
init('/openapi.json', { disableTelemetry: true }, document.getElementById('redoc'));
`;

const page = once(async () => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${String((await contractJson()).info.title)} reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="redoc"></div>
<script type="module">${startRedoc}</script>
</body>
</html>
`);

// helmet's policy (script-src 'self', no workers from blob:) would stop Redoc, so this page gets
// its own, narrower in every other way: the one inline script by hash (not 'unsafe-inline');
// inline styles, because Redoc styles itself with styled-components (<style> tags at run time);
// blob: workers, because Redoc's search index runs in a worker it creates from a blob URL; no
// https: for styles or fonts (helmet allows those), so nothing can load from another host; and no
// 'unsafe-eval': the bundle's one eval (its search probing whether it may build a worker from a
// string) is taken out at `make generate` (scripts/generate.ts), so the page causes no CSP violation.
const docsPolicy = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(startRedoc).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// The problem-type pages: what each `type` URI a problem carries dereferences to (RFC 9457 §3.1.1).
// Their text is the contract's ProblemType entries, so the page, /docs and the contract say the same.
type ProblemTypeEntry = { readonly const: string; readonly title: string; readonly 'x-status': number; readonly description: string };

const problemTypeEntries = once(async () => {
  const contract = (await contractJson()) as unknown as { components: { schemas: { ProblemType: { oneOf: ProblemTypeEntry[] } } } };
  return new Map(contract.components.schemas.ProblemType.oneOf.map((entry) => [entry.const.replace('/problems/', ''), entry]));
});

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const problemTypePage = (entry: ProblemTypeEntry) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(entry.title)} (problem type)</title>
<link rel="icon" href="data:,">
</head>
<body>
<main>
<h1>${escapeHtml(entry.title)}</h1>
<p>Problem type <code>${escapeHtml(entry.const)}</code>, answered with HTTP status <strong>${entry['x-status']}</strong>.</p>
<p>${escapeHtml(entry.description)}</p>
<p>Tell problems apart by their <code>type</code>; <code>detail</code> says the same for a person and its wording may change. Every problem type and the whole API: <a href="/docs">the API reference</a>.</p>
</main>
</body>
</html>
`;

export const documentationHandlers: { readonly [Op in DocumentationOperationId]: PublicHandler<Op> } = {
  docsPortal: async () => ({
    status: 200,
    contentType: 'text/html',
    body: await page(),
    headers: { 'Content-Security-Policy': docsPolicy },
  }),
  docsScript: async () => ({ status: 200, contentType: 'text/javascript', body: redocBundle() }),
  contractYaml: async () => ({ status: 200, contentType: 'application/yaml', body: contractYaml() }),
  contractJson: async () => ({ status: 200, body: await contractJson() }),
  problemTypePage: async ({ params }) => {
    const entry = (await problemTypeEntries()).get(params.slug);
    if (!entry) throw new ProblemError('path-not-found', `There is no problem type ${params.slug}.`);
    return { status: 200, contentType: 'text/html', body: problemTypePage(entry) };
  },
};
