/**
 * `steward replay` against the suite's real Temporal dev server: a task run by a real `steward worker`
 * (continuing as new after every step, so it has several runs) is replayed by its task id, run by
 * run, with the workflow code bundled as the worker bundles it; then through a visibility query.
 */
import { Client, Connection } from '@temporalio/client';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { StewardClient } from '../../src/runtime/client';
import type { ReplayReport } from '../../src/runtime/replay';
import { CliProcess, runCli, stopAllCli, type CliEnv, type CliResult } from '../support/cliProcess';
import { eventually, testAddress, uniqueName } from '../support/harness';
import { MockOpenAI } from '../support/mockOpenAI';

jest.setTimeout(180_000);

const mock = new MockOpenAI();
const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'replay-e2e-'));
const workspace = join(dir, 'workspace');
const configFile = join(dir, 'steward.yaml');
const taskQueue = uniqueName('replay');
const env: CliEnv = { config: configFile, dataDir: join(dir, 'data'), cwd: workspace };
const BUNDLE = ['--bundle', process.env.STEWARD_TEST_BUNDLE ?? ''];

let worker: CliProcess;
let client: StewardClient;
let taskId: string;
/** The task's runs, oldest first, as the server lists them. */
let runIds: string[];
/** `steward replay <taskId>` while the task waited for its approval. */
let parked: CliResult;

beforeAll(async () => {
  await mock.start();
  mock.otherwise({ text: 'The team agreed to ship on Friday.' });
  mkdirSync(join(workspace, 'notes'), { recursive: true });
  copyFileSync(
    join(__dirname, '..', '..', 'workspace', 'notes', 'meeting.md'),
    join(workspace, 'notes', 'meeting.md'),
  );
  writeFileSync(
    configFile,
    stringify({
      temporal: { taskQueue },
      providers: { mock: { kind: 'openai-compatible', baseURL: mock.url } },
      models: [
        {
          id: 'mock',
          provider: 'mock',
          model: 'mock-model',
          trust: 'public',
          price: { inputPerMTok: 1, outputPerMTok: 2 },
        },
      ],
      computeNodes: [{ id: 'local', taskQueue: uniqueName('replay-node'), trust: 'local' }],
      tools: { workspace },
      policy: { approval: { approvers: ['alice'] } },
      limits: { stepsPerRun: 1 }, // a run per step: the task's history is several runs
    }),
  );
  client = new StewardClient(
    new Client({ connection: await Connection.connect({ address: testAddress() }) }),
    taskQueue,
  );
  worker = new CliProcess(['worker'], env);
  await worker.waitFor('worker running', { timeoutMs: 60_000 });

  const started = await runCli(['run', 'notes-digest', '--detach'], env);
  expect(started.code).toBe(0);
  taskId = /^task (\S+) · /m.exec(started.stdout)![1];
  await eventually(
    async () => ((await client.state(taskId)).status === 'awaiting_approval' ? true : undefined),
    `${taskId} awaiting approval`,
    60_000,
  );
  // a task parked on its approval is what a deploy must not break: its history so far replays
  parked = await runCli(['replay', taskId, ...BUNDLE], env, 60_000);
  expect((await runCli(['approve', taskId, '--as', 'alice'], env)).code).toBe(0);
  expect(await client.result(taskId)).toMatchObject({ status: 'completed' });

  // the runs as visibility lists them (it may lag a moment behind the last run's start)
  const latest = (await client.handle(taskId).describe()).runId;
  runIds = await eventually(async () => {
    const runs: { runId: string; startTime: Date }[] = [];
    for await (const wf of client.client.workflow.list({ query: `WorkflowId = '${taskId}'` }))
      runs.push({ runId: wf.runId, startTime: wf.startTime });
    if (!runs.some((r) => r.runId === latest)) return undefined;
    return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime()).map((r) => r.runId);
  }, `visibility to list the runs of ${taskId}`);
  expect(runIds.length).toBeGreaterThan(1); // it continued as new
});

afterAll(async () => {
  if (worker?.running) await worker.stop();
  await stopAllCli();
  await client?.close();
  await mock.stop();
});

test('steward replay <taskId> replays every run of a real task with the current workflow code', async () => {
  // the task continued as new after its steps: several runs, each replayed on its own
  const result = await runCli(['replay', taskId], env, 120_000); // bundles the workflow code itself
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const lines = result.stdout.trimEnd().split('\n');
  const replayed = lines.slice(0, -1).map((line) => {
    const m = /^ok +(\S+) {2}run (\S+)$/.exec(line);
    if (!m) throw new Error(`not an ok line: ${line}\n${result.stdout}`);
    expect(m[1]).toBe(taskId);
    return m[2];
  });
  // every run the server has, oldest first, found by following each run back to the one it continued
  expect(replayed).toEqual(runIds);
  expect(lines.at(-1)).toBe(
    `${runIds.length} histories replayed with the current workflow code: ${runIds.length} ok, 0 did not replay`,
  );

  const one = await runCli(['replay', taskId, '--run', runIds[0], '--json', ...BUNDLE], env);
  expect(one.code).toBe(0);
  const out = JSON.parse(one.stdout) as { ok: boolean; reports: ReplayReport[] };
  expect(out.ok).toBe(true);
  expect(out.reports).toEqual([
    expect.objectContaining({
      origin: 'server',
      workflowId: taskId,
      runId: runIds[0],
      workflowType: 'agentRun',
      status: 'ok',
    }),
  ]);
});

test('a task waiting for an approval replays too: its history so far', () => {
  expect(parked.code).toBe(0);
  expect(parked.stdout).toMatch(new RegExp(`^ok +${taskId} {2}run \\S+$`, 'm'));
  expect(parked.stdout).toMatch(
    /histories? replayed with the workflow bundle .*: (\d+) ok, 0 did not replay\n$/,
  );
});

test('an unknown task id, or run, is one clear line', async () => {
  const [task, run] = await Promise.all([
    runCli(['replay', 'no-such-task', ...BUNDLE], env),
    runCli(['replay', taskId, '--run', '01a21d10-0000-7000-8000-000000000000', ...BUNDLE], env),
  ]);
  expect(task.code).toBe(1);
  expect(task.stderr).toMatch(/^steward: no task no-such-task on this server\n {2}→ /);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(new RegExp(`^steward: task ${taskId} has no run 01a21d10-`));
});

test('steward replay --query replays every workflow the visibility query matches, at most --limit', async () => {
  const query = `WorkflowType = 'agentRun' AND TaskQueue = '${taskQueue}'`;
  const all = await runCli(['replay', '--query', query, '--json', ...BUNDLE], env, 120_000);
  expect(all.code).toBe(0);
  const reports = (JSON.parse(all.stdout) as { reports: ReplayReport[] }).reports;
  expect(reports.map((r) => r.runId).sort()).toEqual([...runIds].sort());
  expect(reports.every((r) => r.status === 'ok' && r.workflowId === taskId)).toBe(true);

  const limited = await runCli(['replay', '--query', query, '--limit', '1', ...BUNDLE], env);
  expect(limited.code).toBe(0);
  expect(limited.stdout).toMatch(/^ok +\S+ {2}run \S+\n1 history replayed with the workflow bundle /);

  const none = await runCli(['replay', '--query', `WorkflowId = 'nothing-${taskQueue}'`, ...BUNDLE], env);
  expect(none.code).toBe(0);
  expect(none.stderr).toContain('no workflow matches');

  const bad = await runCli(['replay', '--query', 'this is not a query', ...BUNDLE], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^steward: the server refused the query "this is not a query": /);
});
