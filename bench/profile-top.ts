// Prints the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`, e.g.
// BENCH_CPU_PROF=bench/profiles make bench), and the same time grouped by package. Shares are of
// the busy time (idle left out). `from` skips the first seconds of the profile (start-up, seed,
// warm-up), so the shares are those of the steady state.
// Usage: node bench/profile-top.ts <file.cpuprofile> [rows] [from-seconds]
import { readFileSync } from 'node:fs';

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] };
type Profile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/profile-top.ts <file.cpuprofile> [rows]');
  process.exit(2);
}
const rows = Number(process.argv[3] ?? 25);
const fromMicros = Number(process.argv[4] ?? 0) * 1e6;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<number, number>();
let elapsed = 0;
profile.samples.forEach((id, index) => {
  elapsed += profile.timeDeltas[index] ?? 0;
  if (elapsed < fromMicros || byId.get(id)!.callFrame.functionName === '(idle)') return;
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const total = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);

const place = (node: ProfileNode) => {
  const url = node.callFrame.url.replace(/^file:\/\//, '');
  const inModules = url.lastIndexOf('node_modules/');
  return inModules >= 0 ? url.slice(inModules + 'node_modules/'.length) : url.replace(process.cwd() + '/', '') || '(native)';
};
const packageOf = (node: ProfileNode) => {
  const url = node.callFrame.url;
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  if (url.includes('/src/')) return 'src (the API)';
  return node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : '(native/V8)';
};

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const node = byId.get(id)!;
  const key = `${node.callFrame.functionName || '(anonymous)'}  ${place(node)}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  byPackage.set(packageOf(node), (byPackage.get(packageOf(node)) ?? 0) + micros);
}
const show = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title} (of ${(total / 1e6).toFixed(2)} s busy, from ${fromMicros / 1e6} s on)`);
  for (const [key, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
};
show('self time by function', byFunction);
show('self time by package', byPackage);
