/**
 * What a parked task costs the worker's memory, and why. Runs each side's worker with its workflows
 * on the main thread (the SDK's debugMode; otherwise they live in worker threads that a heap snapshot
 * of the process does not show), parks `count` tasks on an approval with a cache large enough to
 * keep them all, and diffs heap snapshots taken before and after: what grew, per parked task.
 *
 * Run: npx tsx bench/heap.ts [count=200]
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { bundleStewardWorkflows } from '../src/runtime/worker';
import { startDevServer } from '../src/runtime/devServer';
import { ensureTemporalCli } from '../src/runtime/temporalCli';
import { bareSide, bundleCode, type Kind, pool, round, stewardSide, waitParked, WorkerChild } from './driver';
import { rssMb } from './procStats';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size by node type and name (constructor, function or '(string)'). */
export function heapBySort(path: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType!]!]!;
    const name = ['object', 'closure', 'native'].includes(type)
      ? `${type} ${snap.strings[snap.nodes[i + iName!]!]!.slice(0, 60)}`
      : type;
    const entry = out.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snap.nodes[i + iSize!]!;
    out.set(name, entry);
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
  const dir = mkdtempSync(join(tmpdir(), 'steward-heap-'));
  const paths = { steward: join(dir, 'steward.js'), bare: join(dir, 'bare.js') };
  writeFileSync(paths.steward, (await bundleStewardWorkflows({ logger: new DefaultLogger('ERROR') })).code);
  writeFileSync(paths.bare, await bundleCode(require.resolve('./bareWorkflow')));
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const report: Record<string, unknown> = { count };
  try {
    for (const kind of ['bare', 'steward'] as Kind[]) {
      const taskQueue = `heap-${kind}`;
      const worker = await WorkerChild.start({
        kind,
        address: server.address,
        taskQueue,
        bundlePath: paths[kind],
        modelUrl: 'http://127.0.0.1:9/v1',
        dataDir: join(dir, 'steward'),
        maxCachedWorkflows: count + 50,
        debugMode: true,
      });
      const side =
        kind === 'steward'
          ? stewardSide(client, taskQueue, worker, join(dir, 'steward'))
          : bareSide(client, taskQueue, worker);
      // warm: the first workflows load the bundle and the SDK's caches
      const warm = Array.from({ length: 5 }, (_, i) => `heap-${kind}-warm-${Date.now()}-${i}`);
      await pool(5, 5, async (i) => {
        await side.startParked(warm[i]!);
        await waitParked(client, warm[i]!);
      });
      const before = await worker.heapSnapshot(dir);
      const rssBefore = rssMb(worker.pid);
      const ids = Array.from({ length: count }, (_, i) => `heap-${kind}-${Date.now()}-${i}`);
      await pool(count, 50, (i) => side.startParked(ids[i]!));
      await pool(count, 10, (i) => waitParked(client, ids[i]!));
      const after = await worker.heapSnapshot(dir);
      const rssAfter = rssMb(worker.pid);
      await worker.stop();
      const a = heapBySort(before);
      const b = heapBySort(after);
      const growth = [...b.entries()]
        .map(([name, v]) => ({
          name,
          countPerTask: round((v.count - (a.get(name)?.count ?? 0)) / count, 1),
          bytesPerTask: Math.round((v.bytes - (a.get(name)?.bytes ?? 0)) / count),
        }))
        .sort((x, y) => y.bytesPerTask - x.bytesPerTask);
      const heapPerTask = growth.reduce((s, g) => s + g.bytesPerTask, 0);
      report[kind] = {
        rssPerTaskKb: round(((rssAfter - rssBefore) * 1024) / count),
        heapPerTaskKb: round(heapPerTask / 1024),
        top: growth.slice(0, 25),
      };
      console.log(
        `\n${kind}: ${count} parked, RSS +${round(rssAfter - rssBefore)} MB (${round(((rssAfter - rssBefore) * 1024) / count)} KB per task); heap +${round(heapPerTask / 1024)} KB per task`,
      );
      for (const g of growth.slice(0, 25))
        console.log(
          `  ${String(g.bytesPerTask).padStart(8)} B  ${String(g.countPerTask).padStart(7)} ×  ${g.name}`,
        );
    }
    writeFileSync(join(__dirname, 'results', 'heap-latest.json'), JSON.stringify(report, null, 2));
  } finally {
    await connection.close();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
