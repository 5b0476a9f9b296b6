// zod compiles a parser for each schema object the first time that object parses a row (~0.1 ms of
// CPU, more than the rest of a small request's database work), so a row schema written inline in
// a query function (`sql.type(z.object({ id: z.string() }))`) is compiled again on every call. Row
// schemas are module constants; a statement that returns no rows may keep `z.object({})` inline
// (nothing is ever parsed with it).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';

const databaseDirectory = path.resolve(import.meta.dirname, '../../src/database');

describe('the row schemas of the query functions', () => {
  it('are built once at module load, never inside a query function', async () => {
    const inline: string[] = [];
    for (const name of (await readdir(databaseDirectory)).filter((file) => file.endsWith('.ts'))) {
      const lines = (await readFile(path.join(databaseDirectory, name), 'utf8')).split('\n');
      lines.forEach((line, index) => {
        // A schema object built in the sql.type(…) call itself, other than the empty one.
        if (/sql\.type\(\s*z\.(?!object\(\{\s*\}\))/.test(line)) inline.push(`${name}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(inline).to.deep.equal([]);
  });
});
