// What a frontend developer gets: the client built (make client) and packed (npm pack), installed
// from the tarball into a scratch TypeScript project (npm install; openapi-fetch comes from the
// registry), and a small program type-checked against it with the repository's tsc. The program
// has a deliberate type error under @ts-expect-error, and the same program without the directive
// must be refused, so the types are shown to bite, not just to exist.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tsc = path.join(root, 'node_modules/.bin/tsc');

const program = `
import { createTasksClient, type Problem, type ProblemType, type Task } from 'tasks-api/client';

const client = createTasksClient({
  baseUrl: 'http://localhost:8000',
  // Better Auth: authClient.token() resolves to { data: { token } } or { error }.
  getToken: async () => 'a-token',
});

export async function rename(taskId: string, title: string): Promise<Task | Problem> {
  const { data, error } = await client.PATCH('/api/tasks/{task_id}', {
    params: { path: { task_id: taskId } },
    body: { title },
  });
  if (error) {
    const detail: string = error.detail;
    console.log(detail, error.status);
    return error;
  }
  return data;
}

export async function firstPage(): Promise<Task[]> {
  const { data } = await client.GET('/api/tasks', { params: { query: { limit: 10 } } });
  return data ?? [];
}

export async function misspelt(): Promise<void> {
  // @ts-expect-error the contract has no field "titel" (TaskCreate is closed)
  await client.POST('/api/tasks', { body: { titel: 'Buy milk' } });
}

export function isGone(problem: Problem): boolean {
  const type: ProblemType = problem.type;
  // @ts-expect-error the contract has no problem type "task-lost"
  if (type === '/problems/task-lost') return true;
  return type === '/problems/task-not-found';
}
`;

// What create-next-app writes, in the parts that decide how a package's types resolve.
const nextTsconfig = {
  compilerOptions: {
    target: 'ES2017',
    lib: ['dom', 'dom.iterable', 'esnext'],
    strict: true,
    noEmit: true,
    module: 'esnext',
    moduleResolution: 'bundler',
    isolatedModules: true,
    esModuleInterop: true,
    // Off on purpose: the package's own declarations are checked too, so one that imports a
    // file the package does not ship is an error here.
    skipLibCheck: false,
    types: [],
  },
  include: ['*.ts'],
};

describe('the packed client package', function () {
  this.timeout(180_000);
  let scratch: string;

  before(async function () {
    scratch = mkdtempSync(path.join(tmpdir(), 'tasks-api-client-'));
    await run(process.execPath, [path.join(root, 'scripts/build-client.ts'), path.join(scratch, 'package')]);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: path.join(scratch, 'package') });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    expect(packed!.files.map((file) => file.path).sort()).to.deep.equal([
      'generated/tasks-api.d.ts',
      'package.json',
      'src/client/index.d.ts',
      'src/client/index.js',
    ]);
    const project = path.join(scratch, 'app');
    await run('mkdir', ['-p', project]);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(nextTsconfig));
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', path.join(scratch, packed!.filename)], {
      cwd: project,
    });
  });

  after(function () {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('installs with openapi-fetch as its only dependency', function () {
    const installed = readdirSync(path.join(scratch, 'app/node_modules')).filter((name) => !name.startsWith('.'));
    // openapi-typescript-helpers is openapi-fetch's own (types only) dependency.
    expect(installed.sort()).to.deep.equal(['openapi-fetch', 'openapi-typescript-helpers', 'tasks-api']);
  });

  it('type-checks a program that calls the API with the contract types', async function () {
    writeFileSync(path.join(scratch, 'app/program.ts'), program);
    const { stdout } = await run(tsc, ['-p', path.join(scratch, 'app')]).catch((error) => {
      throw new Error(`tsc refused the program:\n${error.stdout}`);
    });
    expect(stdout).to.equal('');
  });

  it('refuses the same program without @ts-expect-error on the misspelt field', async function () {
    writeFileSync(path.join(scratch, 'app/program.ts'), program.replace(/^\s*\/\/ @ts-expect-error.*$/m, ''));
    const failure = await run(tsc, ['-p', path.join(scratch, 'app')]).then(
      () => undefined,
      (error: { stdout: string }) => error,
    );
    expect(failure, 'tsc accepted a body field the contract does not have').to.not.equal(undefined);
    // Exactly one error, and it is the misspelt field.
    expect(failure!.stdout.trim().split('\n')).to.have.lengthOf(1);
    expect(failure!.stdout).to.match(/program\.ts\(\d+,\d+\): error TS2561: .*'titel' does not exist/);
  });
});
