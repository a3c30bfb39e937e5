/**
 * The real `steward` CLI, run from source as separate processes, against the suite's Temporal dev
 * server and a local OpenAI-compatible server standing in for the model endpoint.
 */
import { Client, Connection } from '@temporalio/client';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { StewardClient } from '../../src/runtime/client';
import type { TaskState } from '../../src/workflows/contract';
import { CliProcess, runCli, stopAllCli, type CliEnv, type CliResult } from '../support/cliProcess';
import { eventually, testAddress, uniqueName } from '../support/harness';
import { MockOpenAI } from '../support/mockOpenAI';

jest.setTimeout(90_000);

const DRAFT = 'The team agreed to ship on Friday. Alice owns the release notes. Bob will fix the flaky test.';

const mock = new MockOpenAI();
const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'cli-'));
const workspace = join(dir, 'workspace');
const dataDir = join(dir, 'data');
const configFile = join(dir, 'steward.yaml');
const taskQueue = `cli-${process.pid}-${Date.now()}`;
const nodeQueue = uniqueName('cli-node');
const env: CliEnv = { config: configFile, dataDir, cwd: workspace };
const digestFile = join(workspace, 'notes', 'digest.md');

/** Every task this file started, so a test can tell that a command started none. */
const startedTasks: string[] = [];
let digestWritten: string | undefined;
let worker: CliProcess;
let connection: Connection;
let client: StewardClient;

function steward(...args: string[]): Promise<CliResult> {
  return runCli(args, env);
}

function taskIdOf(output: string): string {
  const match = output.match(/^task (\S+) · agent [\w-]+ for alice$/m);
  if (!match) throw new Error(`no task id in:\n${output}`);
  if (!startedTasks.includes(match[1])) startedTasks.push(match[1]);
  return match[1];
}

/** Reads the task's state straight from Temporal (cheap), until `check` accepts it. */
function stateWhen(taskId: string, what: string, check: (s: TaskState) => boolean): Promise<TaskState> {
  return eventually(async () => {
    const state = await client.state(taskId);
    return check(state) ? state : undefined;
  }, `${taskId}: ${what}`);
}

function tasksOnQueue(): Promise<number> {
  return client.client.workflow
    .count(`WorkflowType = 'agentRun' AND TaskQueue = '${taskQueue}'`)
    .then((r) => r.count);
}

beforeAll(async () => {
  await mock.start();
  mock.otherwise({ text: 'A generic digest.' });
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
      computeNodes: [{ id: 'local', taskQueue: nodeQueue, trust: 'local' }],
      tools: { workspace },
      policy: { approval: { approvers: ['alice'] } },
    }),
  );
  connection = await Connection.connect({ address: testAddress() });
  client = new StewardClient(new Client({ connection }), taskQueue);

  worker = new CliProcess(['worker'], env);
  // the worker bundles the workflow code from source before it polls: give it time
  await worker.waitFor('worker running', { timeoutMs: 60_000 });
});

afterAll(async () => {
  const result = worker?.running ? await worker.stop() : undefined;
  await stopAllCli();
  await client?.close();
  await mock.stop();
  // a worker asked to stop with SIGTERM shuts down cleanly
  if (result) expect(result.code).toBe(0);
});

test('steward worker keeps running; steward agents lists the two example agents', async () => {
  expect(worker.running).toBe(true);
  // bundling the workflow code says nothing without --debug (webpack's report was ~17 lines)
  expect(worker.stdout + worker.stderr).not.toMatch(/webpack|Workflow bundle created|workflow-bundle/i);
  const { code, stdout } = await steward('agents');
  expect(code).toBe(0);
  expect(stdout).toMatch(/^notes-digest\s+Summarise a notes file/m);
  expect(stdout).toMatch(/^file-assistant\s+/m);
});

test('run --interactive follows the task, asks for approval in the terminal, and completes', async () => {
  mock.reply({ text: DRAFT });
  const run = new CliProcess(['run', 'notes-digest', '--interactive'], env);

  const taskId = taskIdOf((await run.waitFor(/^task \S+ · agent notes-digest for alice$/m))[0]);
  await run.waitFor(/step +\d+ +tool: read_file/);
  await run.waitFor(/step +\d+ +compute: text_stats on node local/);
  await run.waitFor(/step +\d+ +model: mock-model via mock/);
  await run.waitFor(/Approval needed \(\S+\): write_file/);
  await run.waitFor(/approvers: alice · quorum 1/);
  await run.waitFor('Approve as alice?');
  const order = [
    /tool: read_file/,
    /compute: text_stats on node local/,
    /model: mock-model via mock/,
    /Approval needed/,
    /Approve as alice\?/,
  ].map((re) => run.stdout.search(re));
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(existsSync(digestFile)).toBe(false); // nothing is written before the approval
  run.write('y\n');

  const result = await run.done(60_000);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('approved as alice');
  expect(result.stdout).toMatch(/^completed in [\d.]+ s · \d+ steps/m);
  digestWritten = readFileSync(digestFile, 'utf8');
  expect(digestWritten).toContain(DRAFT);
  // the draft came from the mock endpoint, asked for the configured model
  expect(mock.requests.some((r) => r.body.model === 'mock-model')).toBe(true);

  const status = await steward('status', taskId);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain(`task ${taskId} · agent notes-digest · for alice`);
  expect(status.stdout).toMatch(/^ {2}status: completed\b/m);

  const json = await steward('status', taskId, '--json');
  expect(json.code).toBe(0);
  const state = JSON.parse(json.stdout) as TaskState;
  expect(state).toMatchObject({ taskId, status: 'completed', stopReason: 'completed' });

  // the list comes from visibility, which may lag a moment behind the task
  const listed = await eventually(async () => {
    const list = await steward('list');
    return list.code === 0 && list.stdout.includes(taskId) ? list.stdout : undefined;
  }, `steward list to include ${taskId}`);
  expect(listed).toMatch(new RegExp(`^${taskId}\\s+notes-digest\\s+completed`, 'm'));
});

test("one step sequence: the prompt, status, the run's lines and steward audit put the approval on the step it gates; the draft reads as text", async () => {
  mock.reply({ text: 'Ship on Friday.\nAlice owns the release notes.\nBob fixes the flaky test.' });
  // its own output file: the digest the other tests wrote stays as they expect it
  const input = JSON.stringify({ file: 'notes/meeting.md', out: 'notes/steps-digest.md' });
  const run = new CliProcess(['run', 'notes-digest', '--input-json', input, '--interactive'], env);
  const taskId = taskIdOf((await run.waitFor(/^task \S+ · agent notes-digest for alice$/m))[0]);
  const asked = await run.waitFor(/Approval needed \(approval-(\d+)\): write_file · step (\d+)/);
  const step = asked[2]!;
  expect(asked[1]).toBe(step);
  await run.waitFor('Approve as alice?');
  const prompt = run.stdout.slice(run.stdout.indexOf('Approval needed'));
  expect(prompt).toContain(
    '      content:\n' +
      '        │ Ship on Friday.\n' +
      '        │ Alice owns the release notes.\n' +
      '        │ Bob fixes the flaky test.\n',
  );
  expect(prompt).not.toContain('\\n');

  const status = await steward('status', taskId);
  expect(status.stdout).toMatch(new RegExp(`^ {2}step: ${step} awaiting approval · `, 'm'));

  run.write('y\n');
  const result = await run.done(60_000);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`step +${step} {2}approved by alice`));
  expect(result.stdout).toMatch(new RegExp(`step +${step} {2}tool: write_file`));
  expect(readFileSync(join(workspace, 'notes', 'steps-digest.md'), 'utf8')).toContain(
    'Ship on Friday.\nAlice owns the release notes.\n',
  );

  const audit = await steward('audit', 'show', taskId);
  expect(audit.code).toBe(0);
  expect(audit.stdout).toMatch(new RegExp(` step ${step} +approval\\.requested `));
  expect(audit.stdout).toMatch(new RegExp(` step ${step} +approval\\.decided `));
  expect(audit.stdout).toMatch(new RegExp(` step ${step} +tool\\.completed +write_file`));
});

test('the terminal stays in step: an approval given elsewhere withdraws the question and the run finishes', async () => {
  mock.reply({ text: DRAFT });
  const run = new CliProcess(['run', 'notes-digest', '--interactive'], env);
  const taskId = taskIdOf((await run.waitFor(/^task \S+ · agent notes-digest for alice$/m))[0]);
  await run.waitFor('Approve as alice?');
  const elsewhere = await steward('approve', taskId, '--as', 'alice', '--reason', 'from another terminal');
  expect(elsewhere.code).toBe(0);
  const result = await run.done(60_000); // no answer is typed here
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('decided elsewhere; no answer needed here');
  expect(result.stdout).toMatch(/^completed in [\d.]+ s/m);
  expect(result.stdout).not.toContain('refused');
});

test('run without a terminal prints how to decide; a non-approver is refused; a rejection stops the task', async () => {
  const run = new CliProcess(['run', 'notes-digest'], env);
  const taskId = taskIdOf((await run.waitFor(/^task \S+ · agent notes-digest for alice$/m))[0]);
  await run.waitFor(`waiting; decide with: steward approve ${taskId} --as`);
  expect(run.stdout).not.toContain('Approve as');

  const refused = await steward('approve', taskId, '--as', 'mallory');
  expect(refused.code).not.toBe(0);
  // still waiting after the refusal
  expect((await client.state(taskId)).status).toBe('awaiting_approval');

  const rejected = await steward('reject', taskId, '--as', 'alice', '--reason', 'not now');
  expect(rejected.code).toBe(0);
  expect(rejected.stdout).toContain('rejected as alice; the request is now rejected');

  const result = await run.done(60_000);
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/^stopped: approval_rejected/m);
  expect(result.stdout).toContain('rejected by alice');

  // checked last, so the rest of the flow above is verified even while this fails:
  // the refusal says why, in one line
  expect(refused.stderr).toContain('mallory may not approve');
});

test('bad input, unknown agents, missing --as and a bad config file each fail with a clear message', async () => {
  const before = startedTasks.length;
  await eventually(
    async () => ((await tasksOnQueue()) === before ? true : undefined),
    `${before} tasks on the queue`,
  );

  const [badInput, noAgent, noAs] = await Promise.all([
    steward('run', 'notes-digest', '--input-json', '{"file": 5}'),
    steward('run', 'no-such-agent'),
    steward('approve', 'x'),
  ]);

  expect(badInput.code).toBe(1);
  expect(badInput.stderr).toMatch(/input for agent notes-digest is invalid/);
  expect(badInput.stderr).toMatch(/^ {2}file: /m);
  expect(badInput.stdout).not.toMatch(/^task /m);
  expect(await tasksOnQueue()).toBe(before); // no task was started

  expect(noAgent.code).toBe(1);
  expect(noAgent.stderr).toContain('unknown agent no-such-agent');
  expect(noAgent.stderr).toContain('notes-digest');
  expect(noAgent.stderr).toContain('file-assistant');

  expect(noAs.code).toBe(1);
  expect(noAs.stderr).toContain('approve needs --as');

  const badConfig = join(dir, 'bad.yaml');
  writeFileSync(
    badConfig,
    stringify({
      providers: { mock: { kind: 'openai-compatible', baseURL: mock.url } },
      models: [
        {
          id: 'mock',
          provider: 'mock',
          model: 'mock-model',
          price: { inputPerMTok: 'cheap', outputPerMTok: 2 },
        },
      ],
    }),
  );
  const bad = await runCli(['list'], { ...env, config: badConfig });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain(badConfig);
  expect(bad.stderr).toContain('models[0].price.inputPerMTok');
});

test('cancel stops a detached task that waits for approval', async () => {
  const detached = await steward('run', 'notes-digest', '--detach');
  expect(detached.code).toBe(0);
  const taskId = taskIdOf(detached.stdout);

  await stateWhen(taskId, 'awaiting approval', (s) => s.status === 'awaiting_approval');

  const cancel = await steward('cancel', taskId, '--reason', 'stop');
  expect(cancel.code).toBe(0);
  expect(cancel.stdout).toContain(`asked task ${taskId} to stop`);

  const result = await client.result(taskId);
  expect(result).toMatchObject({ status: 'stopped', stopReason: 'cancelled' });

  const status = await steward('status', taskId);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/status: stopped \(cancelled: cancelled by alice: stop\)/);
  // nothing was written: the digest is what the first task wrote, or absent
  expect(existsSync(digestFile) ? readFileSync(digestFile, 'utf8') : undefined).toBe(digestWritten);
});

test('run warns when an agent needs a larger model than any configured', async () => {
  const detached = await steward('run', 'file-assistant', '--detach');
  expect(detached.code).toBe(0);
  expect(detached.stderr).toContain('warning: agent file-assistant needs a model of at least 7B parameters');
  await client.result(taskIdOf(detached.stdout)); // it runs all the same (the test model answers at once)

  const quiet = await steward('run', 'notes-digest', '--detach');
  expect(quiet.stderr).not.toContain('warning');
  expect((await steward('cancel', taskIdOf(quiet.stdout))).code).toBe(0);
});

test('each command has its own --help; an unknown option is refused with the usage', async () => {
  const [help, unknown] = await Promise.all([
    steward('run', '--help'),
    steward('run', 'notes-digest', '--frobnicate'),
  ]);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: steward run <agent> /);
  expect(help.stdout).toMatch(/^ {2}--input-json JSON +/m);
  expect(help.stdout).toMatch(/^ {2}--detach +/m);
  expect(help.stderr).toBe('');

  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/^steward: unknown option --frobnicate for run\n\nUsage: steward run /);
});

test('a provider whose key variable is unset is one clear line, with what to do, and no stack', async () => {
  const keyless = join(dir, 'keyless.yaml');
  writeFileSync(
    keyless,
    stringify({
      temporal: { taskQueue },
      providers: {
        x: { kind: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'NOPE_KEY' },
      },
      models: [{ id: 'm', provider: 'x', model: 'y' }],
      tools: { workspace },
    }),
  );
  const { code, stderr } = await runCli(['worker'], { ...env, config: keyless, extra: { NOPE_KEY: '' } });
  expect(code).toBe(1);
  expect(stderr).toMatch(
    /^steward: provider x reads its API key from the environment variable NOPE_KEY, which is not set\n {2}→ set NOPE_KEY /,
  );
  expect(stderr).not.toMatch(/\n\s+at /);

  const debug = await runCli(['worker', '--debug'], { ...env, config: keyless, extra: { NOPE_KEY: '' } });
  expect(debug.code).toBe(1);
  expect(debug.stderr).toMatch(/\n\s+at createProviders /);
});
