// Plain JavaScript on purpose: it must run on any Node, including those that cannot load the .ts
// sources (Node 20 stops at ERR_UNKNOWN_FILE_EXTENSION before any of them runs). The Makefile runs
// it before every target that starts Node, and the entry points import it first, so a start on an
// unsupported Node ends with one line saying what is needed instead of a stack trace.
import { readFileSync } from 'node:fs';

const required = /(\d+)/.exec(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node)[1];
if (Number(process.versions.node.split('.')[0]) < Number(required)) {
  console.error(
    `tasks-api needs Node ${required} or later, and this is Node ${process.version} (${process.execPath}). ` +
      `make installs the pinned Node ${required} into node_modules/.bin and runs everything on it: run make install, then make run ` +
      '(outside make, put node_modules/.bin first on PATH).',
  );
  process.exit(1);
}
