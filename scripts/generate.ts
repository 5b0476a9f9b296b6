// `make generate` writes generated/tasks-api.d.ts from the contract; `make generated-check`
// (`--check`) fails when the committed file differs from what the contract generates today.
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { contractPath } from '../src/contract.ts';

const outputPath = new URL('../generated/tasks-api.d.ts', import.meta.url);
const generated = COMMENT_HEADER + astToString(await openapiTS(pathToFileURL(contractPath)));

if (process.argv.includes('--check')) {
  const committed = await readFile(outputPath, 'utf8').catch(() => '');
  if (committed !== generated) {
    console.error('generated/tasks-api.d.ts is stale: run `make generate` and commit the result.');
    process.exit(1);
  }
  console.log('generated/ matches the contract');
} else {
  await writeFile(outputPath, generated);
  console.log('wrote generated/tasks-api.d.ts');
}
