import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentDefinition } from '../../src/agents/definition';
import { approvalToSign, signDecision } from '../../src/audit/signing';
import { findTemporalCli } from '../../src/runtime/temporalCli';
import { approveUpdate, stateQuery } from '../../src/workflows/messages';
import type { TaskResult, TaskState } from '../../src/workflows/contract';
import { eventually, Harness, uniqueName } from '../support/harness';

/**
 * Temporal's own doors (issue 18 item 1 and 2): cron, workflow retries, resets, a reused task id and
 * a raw start, driven with the real `temporal` CLI against the suite's dev server. Only a task's own
 * continue-as-new may carry state; a decision is good for one request of one run.
 */
const writer: AgentDefinition = {
  name: 'doors-writer',
  description: 'model-driven agent that may write',
  instructions: 'Do what the user asks with the tools.',
  tools: ['read_file', 'write_file'],
};

const harness = new Harness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => harness.mock.reset());

/** The `temporal` CLI against the suite's server. */
function temporal(...args: string[]): string {
  return execFileSync(findTemporalCli()!, [...args, '--address', process.env.TEMPORAL_ADDRESS!], {
    encoding: 'utf8',
  });
}

/** `temporal workflow start` of agentRun with `input` as its input file, as an operator would. */
function startWithCli(queue: string, workflowId: string, input: unknown, ...extra: string[]): void {
  const file = join(harness.dir, `${workflowId}.json`);
  writeFileSync(file, JSON.stringify(input));
  temporal(
    'workflow',
    'start',
    '--type',
    'agentRun',
    '--task-queue',
    queue,
    '--workflow-id',
    workflowId,
    '--input-file',
    file,
    ...extra,
  );
}

/** The queue of the worker that runs `writer` tasks (started by launching one). */
async function writerQueue(): Promise<string> {
  const handle = await harness.launch(harness.spec(writer, { input: 'bring the worker up' }));
  await handle.terminate('only used to bring up the worker');
  return (await handle.describe()).taskQueue;
}

/** A task that continued as new once, and the signed input its second run started with. */
async function continuedInput(): Promise<Record<string, unknown>> {
  harness.writeWorkspaceFile('c.txt', 'gamma');
  harness.mock.reply(
    { tool: 'read_file', args: { path: 'c.txt' } },
    { tool: 'read_file', args: { path: 'c.txt' } },
    { tool: 'finish', args: { result: 'read twice' } },
  );
  const spec = harness.spec(writer, { input: 'read c.txt twice', limits: { stepsPerRun: 1 } });
  const handle = await harness.launch(spec);
  expect(await handle.result()).toMatchObject({ status: 'completed' });
  const runs = [];
  for await (const run of harness.client.client.workflow.list({ query: `WorkflowId = '${spec.taskId}'` }))
    runs.push(run);
  const second = runs.find((r) => r.status.name === 'CONTINUED_AS_NEW' && runs.length > 1)!;
  const history = await harness.client.client.workflow.getHandle(spec.taskId, second.runId).fetchHistory();
  const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
  const input = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString('utf8'));
  expect(input.carried).toBeDefined();
  expect(input.carrySignature).toBeDefined();
  return input;
}

/** What each closed run of a workflow id said when it ended (a cron run's result is not kept apart). */
async function closedRuns(workflowId: string): Promise<TaskState[]> {
  const out: TaskState[] = [];
  for await (const run of harness.client.client.workflow.list({
    query: `WorkflowId = '${workflowId}' AND ExecutionStatus != 'Running'`,
  }))
    out.push(await harness.client.client.workflow.getHandle(workflowId, run.runId).query(stateQuery));
  return out;
}

test('a cron start with a real signed carried state and an allow-all policy is refused at every run', async () => {
  const queue = await writerQueue();
  const signed = await continuedInput();
  const calls = harness.mock.requests.length;
  harness.mock.otherwise({ tool: 'write_file', args: { path: 'cron-pwned.txt', content: 'x' } });
  const forged = {
    ...signed,
    policy: { evaluation: 'strictest', fallback: 'allow', rules: [{ id: 'allow-all', decision: 'allow' }] },
  };
  const workflowId = uniqueName('cron');
  startWithCli(queue, workflowId, forged, '--cron', '@every 2s');
  const runs = await eventually(
    async () => {
      const closed = await closedRuns(workflowId);
      return closed.length >= 2 ? closed : undefined;
    },
    'two cron runs',
    30_000,
  );
  await harness.client.client.workflow.getHandle(workflowId).terminate('test over');
  for (const run of runs) {
    expect(run).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(run.stopDetail).toContain('cron');
  }
  expect(existsSync(join(harness.workspace, 'cron-pwned.txt'))).toBe(false);
  expect(harness.mock.requests).toHaveLength(calls);
});

test('a raw start that replays a real signed carried state into another workflow is refused', async () => {
  const queue = await writerQueue();
  const signed = await continuedInput();
  const calls = harness.mock.requests.length;
  const workflowId = uniqueName('replayed');
  startWithCli(queue, workflowId, signed);
  const result: TaskResult = await harness.client.client.workflow.getHandle(workflowId).result();
  expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
  expect(result.detail).toContain('only a continue-as-new may carry state');
  expect(harness.mock.requests).toHaveLength(calls);
});

test('a workflow retry (a retry policy on the start) is refused on its second attempt', async () => {
  const queue = await writerQueue();
  harness.mock.otherwise({ tool: 'write_file', args: { path: 'retried.txt', content: 'x' } });
  const { config, taskId, ...request } = harness.spec(writer, { input: 'write retried.txt' });
  void config;
  // the first run parks on the approval and times out; Temporal then retries it with the same input
  const handle = await harness.client.client.workflow.start('agentRun', {
    taskQueue: queue,
    workflowId: taskId,
    args: [request],
    workflowRunTimeout: '3s',
    retry: { maximumAttempts: 2, initialInterval: '100ms' },
  });
  const result: TaskResult = await handle.result();
  expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
  expect(result.detail).toContain('not retried as a workflow');
  expect(existsSync(join(harness.workspace, 'retried.txt'))).toBe(false);
});

describe('a task id names one task forever', () => {
  test('the client refuses to start a closed task’s id again; a raw start with it is refused by the worker', async () => {
    harness.mock.reply({ tool: 'finish', args: { result: 'once' } });
    const spec = harness.spec(writer, { input: 'just finish' });
    const first = await harness.launch(spec);
    expect(await first.result()).toMatchObject({ status: 'completed', result: 'once' });

    await expect(harness.launch(spec)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);

    const { config, taskId, ...request } = spec;
    void config;
    void taskId;
    startWithCli((await first.describe()).taskQueue, spec.taskId, request);
    const again: TaskResult = await harness.client.client.workflow.getHandle(spec.taskId).result();
    expect(again).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(again.detail).toContain(`task id ${spec.taskId} already names another task`);
  });

  test('a reset to the first workflow task of a finished task does not run its effect again', async () => {
    harness.mock.reply(
      { tool: 'write_file', args: { path: 'reset.txt', content: 'once' } },
      { tool: 'finish', args: { result: 'written' } },
    );
    const spec = harness.spec(writer, { input: 'write reset.txt' });
    const handle = await harness.launch(spec);
    const pending = await eventually(
      async () => (await harness.client.state(spec.taskId)).pendingApproval,
      'approval request',
    );
    expect(pending.action.tool).toBe('write_file');
    await harness.client.decide(spec.taskId, { identity: 'alice', decision: 'approve' });
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    rmSync(join(harness.workspace, 'reset.txt'));
    harness.mock.reply(
      { tool: 'write_file', args: { path: 'reset.txt', content: 'twice' } },
      { tool: 'finish', args: { result: 'written' } },
    );
    temporal(
      'workflow',
      'reset',
      '--workflow-id',
      spec.taskId,
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'test',
    );
    const reset: TaskResult = await harness.client.client.workflow.getHandle(spec.taskId).result();
    expect(reset).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(existsSync(join(harness.workspace, 'reset.txt'))).toBe(false);
  });
});

test('a decision signed for one run is refused by the next run of the same task (a reset)', async () => {
  harness.mock.reply(
    { tool: 'write_file', args: { path: 'bound.txt', content: 'approved once' } },
    { tool: 'finish', args: { result: 'written' } },
  );
  const spec = harness.spec(writer, { input: 'write bound.txt' });
  await harness.launch(spec);
  const first = await eventually(
    async () => (await harness.client.state(spec.taskId)).pendingApproval,
    'approval request',
  );
  const decision = {
    approvalId: first.id,
    digest: first.digest,
    decision: 'approve' as const,
    identity: 'alice',
  };
  const signedForFirst = {
    ...decision,
    signature: signDecision(
      harness.signer.privateKey,
      harness.signer.keyId,
      approvalToSign(spec.taskId, { ...decision, runId: first.runId }),
      new Date().toISOString(),
    ),
  };
  // a reset starts a new run that asks again for the same call
  temporal(
    'workflow',
    'reset',
    '--workflow-id',
    spec.taskId,
    '--type',
    'LastWorkflowTask',
    '--reason',
    'test',
  );
  const second = await eventually(async () => {
    const pending = (await harness.client.state(spec.taskId)).pendingApproval;
    return pending && pending.runId !== first.runId ? pending : undefined;
  }, 'the approval request of the reset run');
  expect(second).toMatchObject({ id: first.id, digest: first.digest });

  const handle = harness.client.client.workflow.getHandle(spec.taskId);
  const refused = await handle.executeUpdate(approveUpdate, { args: [signedForFirst] }).catch((e) => e);
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(String((refused as { cause?: Error }).cause?.message)).toContain('does not match this decision');
  expect(existsSync(join(harness.workspace, 'bound.txt'))).toBe(false);

  await harness.client.decide(spec.taskId, { identity: 'alice', decision: 'approve' });
  expect(await handle.result()).toMatchObject({ status: 'completed' });
});

test('a raw start input nested 100,000 deep is refused at once, without wedging a workflow task', async () => {
  const queue = await writerQueue();
  const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
  const workflowId = uniqueName('deep');
  await harness.client.client.workflowService.startWorkflowExecution({
    namespace: 'default',
    workflowId,
    workflowType: { name: 'agentRun' },
    taskQueue: { name: queue },
    requestId: workflowId,
    input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(deep) }] },
  });
  const result: TaskResult = await harness.client.client.workflow.getHandle(workflowId).result();
  expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
  expect(result.detail).toContain('nests deeper than 64 levels');
});
