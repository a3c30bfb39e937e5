/**
 * Summarises the V8 CPU profiles a worker process wrote with `--cpu-prof` (one file per thread:
 * the main thread runs activities and the SDK's JS, the workflow threads run the workflow sandbox).
 * Run: npx tsx bench/cpuProfile.ts <dir> [top=25]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * The webpack modules of a workflow bundle by first line (`/***\/ "./node_modules/zod/…"` lines), so a
 * sample in the sandbox can be charged to the module whose code ran.
 */
export function bundleModules(code: string): Array<{ line: number; module: string }> {
  const out: Array<{ line: number; module: string }> = [];
  code.split('\n').forEach((text, i) => {
    const m = text.match(/^\/\*{3}\/ "(.+)"/);
    if (!m) return;
    const module = m[1]!
      .replace(/^\.\/node_modules\/((?:@[^/]+\/)?[^/]+).*/, '$1')
      .replace(/^\.\/src\/(.+?)(\.ts)?$/, 'steward src/$1');
    out.push({ line: i + 1, module });
  });
  return out;
}

function moduleAt(modules: Array<{ line: number; module: string }>, line: number): string {
  let found = '(bundle runtime)';
  for (const m of modules) {
    if (m.line > line) break;
    found = m.module;
  }
  return found;
}

/** What a frame belongs to, from its script URL (and, in the workflow sandbox, the bundle's modules). */
export function area(
  url: string,
  functionName: string,
  line = 0,
  modules?: Array<{ line: number; module: string }>,
): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native/builtin)';
  if (url.includes('workflow-bundle'))
    return modules ? `sandbox: ${moduleAt(modules, line)}` : 'workflow sandbox';
  if (/^evalmachine|^vm:/.test(url)) return 'sandbox: (SDK glue)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  if (url.includes('/src/'))
    return `steward ${url
      .slice(url.indexOf('/src/') + 1)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  if (url.includes('/bench/')) return 'bench';
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  areas: Array<{ area: string; ms: number }>;
  functions: Array<{ fn: string; area: string; ms: number }>;
}

export function summarise(file: string, top = 25, bundle?: string): ProfileSummary {
  const modules = bundle && existsSync(bundle) ? bundleModules(readFileSync(bundle, 'utf8')) : undefined;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const areas = new Map<string, number>();
  const functions = new Map<string, { area: string; ms: number }>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id)!;
    totalMs += ms;
    if (callFrame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const a = area(callFrame.url, callFrame.functionName, callFrame.lineNumber + 1, modules);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const where = callFrame.url
      ? `${callFrame.url.split('/').slice(-2).join('/')}:${callFrame.lineNumber + 1}`
      : '';
    const key = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
    const entry = functions.get(key) ?? { area: a, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    file,
    totalMs: r(totalMs),
    busyMs: r(totalMs - idleMs),
    areas: [...areas.entries()].map(([a, ms]) => ({ area: a, ms: r(ms) })).sort((x, y) => y.ms - x.ms),
    functions: [...functions.entries()]
      .map(([fn, v]) => ({ fn, area: v.area, ms: r(v.ms) }))
      .sort((x, y) => y.ms - x.ms)
      .slice(0, top),
  };
}

/** A directory written by `npm run bench -- --cpuProf`: `<workload>-<side>/`, next to `<side>.js`. */
export function summariseDir(dir: string, top = 25): ProfileSummary[] {
  const side = dir.replace(/\/$/, '').split('-').pop();
  const bundle = join(dirname(dir), `${side}.js`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => summarise(join(dir, f), top, bundle));
}

if (require.main === module) {
  const [dir, top] = process.argv.slice(2);
  if (!dir) throw new Error('usage: npx tsx bench/cpuProfile.ts <dir> [top]');
  for (const s of summariseDir(dir, Number(top ?? 25))) {
    console.log(`\n${s.file}: ${s.busyMs} ms busy of ${s.totalMs} ms`);
    for (const a of s.areas.slice(0, 15)) console.log(`  ${String(a.ms).padStart(8)} ms  ${a.area}`);
    console.log('  top functions (self time):');
    for (const f of s.functions) console.log(`  ${String(f.ms).padStart(8)} ms  ${f.fn}  [${f.area}]`);
  }
}
