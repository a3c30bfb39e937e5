/**
 * The review lane's inbox with many pending approvals: N tasks (default 1,000) parked on an approval
 * on one tuned dev server and one worker (its default cache of 200 workflows, so most are evicted
 * and replayed when queried), then
 *   - API latency of the approvals list (GET /v1/approvals, 50 a page): the first read after the
 *     tasks parked (cold: each task's state is queried) and repeated reads (p50, p99);
 *   - a walk through all N approvals in pages of 200, cold and warm;
 *   - GET /v1/tasks?status=awaiting_approval (visibility only) for comparison;
 *   - the lane's inbox page in headless Chromium: first paint and first contentful paint (the
 *     Performance API), p50 and p99 over fresh page loads.
 *
 *   npx tsx bench/reviewLane.ts [tasks=1000] [loads=30]
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createStewardActivities } from '../src/activities';
import { AgentRegistry } from '../src/agents';
import { newToken } from '../src/api/auth';
import { startApiServer } from '../src/api/server';
import { parseConfig } from '../src/config/load';
import { StewardClient } from '../src/runtime/client';
import { startDevServer } from '../src/runtime/devServer';
import { ensureTemporalCli } from '../src/runtime/temporalCli';
import { createStewardWorker } from '../src/runtime/worker';
import { BlobStore } from '../src/stores/blobStore';
import { builtinTools } from '../src/tools/builtin';
import { ToolRegistry } from '../src/tools/registry';
import { launchBrowser } from '../test/support/browser';
import { fileWriter } from '../test/support/frontDoor';

const TASKS = Number(process.argv[2] ?? 1000);
const LOADS = Number(process.argv[3] ?? 30);

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const summary = (xs: number[]) =>
  `p50 ${ms(quantile(xs, 0.5))}  p99 ${ms(quantile(xs, 0.99))}  (n=${xs.length})`;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = mkdtempSync(join(tmpdir(), 'bench-lane-'));
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), headless: true });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  const blobs = new BlobStore(join(dir, 'blobs'));
  const taskQueue = 'bench-lane';
  const alice = newToken();
  const config = parseConfig({
    temporal: { taskQueue },
    dataDir: join(dir, 'data'),
    tools: { workspace: join(dir, 'workspace') },
    policy: { approval: { approvers: ['alice'] } },
    api: {
      tokens: [{ identity: 'alice', roles: ['approver'], sha256: alice.sha256 }],
      rateLimit: { max: 1_000_000, windowSeconds: 60 },
    },
  });
  const tools = new ToolRegistry().register(...builtinTools(config.tools));
  const worker = await createStewardWorker({
    connection,
    taskQueue,
    activities: createStewardActivities({
      config,
      agents: new AgentRegistry([fileWriter]),
      providers: new Map(),
      tools,
      blobs,
      logger: pino({ level: 'silent' }),
      ledger: { client, taskQueue },
    }),
  });
  const running = worker.run();
  const steward = new StewardClient(client, taskQueue, blobs);

  // N tasks, 50 starting at a time, each waiting for alice's approval of a write
  let started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < TASKS) {
        const i = next++;
        await steward.start({
          agent: fileWriter.name,
          principal: `user-${i % 20}`,
          taskId: `lane-bench-${i}`,
          input: {
            path: `out/${i}.md`,
            content: `# Note ${i}\n\n${'Some text of the note. '.repeat(20)}`,
            result: 'ok',
          },
        });
      }
    }),
  );
  const query = `TaskQueue = '${taskQueue}' AND StewardStatus = 'awaiting_approval'`;
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count >= TASKS) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(
    `${TASKS} tasks parked on an approval in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const api = await startApiServer({ config, client: steward, blobs, port: 0, host: '127.0.0.1' });
  const get = async (path: string) => {
    const t0 = performance.now();
    const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${alice.token}` } });
    const body = (await res.json()) as { approvals?: unknown[]; tasks?: unknown[]; nextPageToken?: string };
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return { ms: performance.now() - t0, body };
  };
  const walk = async () => {
    const t0 = performance.now();
    let token: string | undefined;
    let seen = 0;
    do {
      const { body } = await get(`/v1/approvals?pageSize=200${token ? `&pageToken=${token}` : ''}`);
      seen += body.approvals!.length;
      token = body.nextPageToken;
    } while (token);
    if (seen !== TASKS) throw new Error(`walked ${seen} approvals, expected ${TASKS}`);
    return performance.now() - t0;
  };

  const cold = await get('/v1/approvals?pageSize=50');
  const warm: number[] = [];
  for (let i = 0; i < 200; i++) warm.push((await get('/v1/approvals?pageSize=50')).ms);
  const walkCold = await walk();
  const walkWarm: number[] = [];
  for (let i = 0; i < 5; i++) walkWarm.push(await walk());
  const visibility: number[] = [];
  for (let i = 0; i < 200; i++)
    visibility.push((await get('/v1/tasks?status=awaiting_approval&pageSize=50')).ms);

  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const host = new URL(api.url).hostname;
  await context.addCookies([
    {
      name: 'steward_session',
      value: alice.token,
      domain: host,
      path: '/ui',
      httpOnly: true,
      sameSite: 'Strict',
    },
  ]);
  const firstPaint: number[] = [];
  const contentful: number[] = [];
  const loaded: number[] = [];
  let cards = 0;
  for (let i = 0; i < LOADS + 1; i++) {
    const page = await context.newPage();
    started = performance.now();
    await page.goto(`${api.url}/ui/`, { waitUntil: 'load' });
    const wall = performance.now() - started;
    // headless Chromium records paint timings a frame or two after load
    await page.waitForFunction(() => performance.getEntriesByType('paint').length >= 2, undefined, {
      timeout: 10_000,
    });
    const paints = await page.evaluate(() =>
      Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime])),
    );
    cards = await page.locator('section.approval').count();
    await page.close();
    if (i === 0) continue; // the first load warms the browser
    firstPaint.push(paints['first-paint']!);
    contentful.push(paints['first-contentful-paint']!);
    loaded.push(wall);
  }
  await browser.close();

  console.log(`GET /v1/approvals (50 a page), first read (states queried): ${ms(cold.ms)}`);
  console.log(`GET /v1/approvals (50 a page), repeated:    ${summary(warm)}`);
  console.log(
    `all ${TASKS} approvals in pages of 200: first walk ${ms(walkCold)}, then ${summary(walkWarm)}`,
  );
  console.log(`GET /v1/tasks?status=awaiting_approval (50, visibility only): ${summary(visibility)}`);
  console.log(`review lane inbox (${cards} cards on its first page), headless Chromium:`);
  console.log(`  first paint            ${summary(firstPaint)}`);
  console.log(`  first contentful paint ${summary(contentful)}`);
  console.log(`  load (wall)            ${summary(loaded)}`);

  await api.close();
  worker.shutdown();
  await running;
  await connection.close();
  await client.connection.close();
  await server.stop();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
