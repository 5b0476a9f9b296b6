// `make client`: builds the typed client into an installable ESM package (default dist/client/,
// or the folder given as the first argument), then `npm pack` there makes the tarball.
//
// The layout mirrors the repository, so the declaration's import of the contract types
// (`../../generated/tasks-api.js`) points at a file the package ships:
//   package.json                 name tasks-api, exports "./client", one dependency: openapi-fetch
//   src/client/index.js, .d.ts   compiled src/client/index.ts
//   generated/tasks-api.d.ts     the contract's types
// The repository's package.json is the server's (express, slonik, …); the package gets its own,
// written here, so a frontend installs openapi-fetch and nothing else.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist/client'));
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

rmSync(out, { recursive: true, force: true });
execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', path.join(root, 'src/client/tsconfig.build.json'), '--outDir', out], {
  stdio: 'inherit',
});
mkdirSync(path.join(out, 'generated'), { recursive: true });
copyFileSync(path.join(root, 'generated/tasks-api.d.ts'), path.join(out, 'generated/tasks-api.d.ts'));
writeFileSync(
  path.join(out, 'package.json'),
  `${JSON.stringify(
    {
      name: manifest.name,
      version: manifest.version,
      description: 'Typed client for tasks-api, generated from its OpenAPI contract.',
      license: manifest.license,
      type: 'module',
      exports: { './client': { types: './src/client/index.d.ts', default: './src/client/index.js' } },
      files: ['src/client/index.js', 'src/client/index.d.ts', 'generated/tasks-api.d.ts'],
      sideEffects: false,
      // The same exact version the repository's tests run the client with.
      dependencies: { 'openapi-fetch': manifest.devDependencies['openapi-fetch'] },
    },
    null,
    2,
  )}\n`,
);
console.log(`built the client package in ${path.relative(process.cwd(), out) || '.'}`);
