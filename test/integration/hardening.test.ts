import { WorkflowUpdateFailedError } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentDefinition } from '../../src/agents/definition';
import { verifyAudit } from '../../src/audit/chain';
import { cancelSignal, stateQuery } from '../../src/workflows/messages';
import type { TaskResult } from '../../src/workflows/contract';
import { eventually, Harness, uniqueName } from '../support/harness';
import { recordHistory } from '../support/replayRecorder';

const writer: AgentDefinition = {
  name: 'test-writer',
  description: 'model-driven agent that may write',
  instructions: 'Do what the user asks with the tools.',
  tools: ['read_file', 'write_file'],
  limits: { maxSteps: 12, maxOutputTokens: 512 },
};

const harness = new Harness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => harness.mock.reset());

/** Starts agentRun with any input at all, as `temporal workflow start` would: no Steward client. */
async function startRaw(input: unknown) {
  const { taskQueue } = await harness.launch(harness.spec(writer)).then(async (h) => {
    await h.terminate('only used to bring up the default worker');
    return { taskQueue: harness.taskQueue };
  });
  return harness.client.client.workflow.start('agentRun', {
    taskQueue,
    workflowId: uniqueName('raw'),
    args: [input],
  });
}

/** A signal whose JSON payload is written by hand: no client-side encoder could build it. */
async function rawSignal(workflowId: string, signalName: string, json: string): Promise<void> {
  await harness.client.client.workflowService.signalWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId },
    signalName,
    input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(json) }] },
  });
}

async function waitForApproval(taskId: string) {
  return eventually(async () => (await harness.client.state(taskId)).pendingApproval, 'approval request');
}

describe('a caller cannot widen a task', () => {
  test('a start input that brings its own allow-all rules is refused and writes nothing', async () => {
    harness.mock.otherwise({ tool: 'write_file', args: { path: 'pwned.txt', content: 'x' } });
    const forged = {
      ...harness.spec(writer),
      agent: { name: 'test-writer', description: '', instructions: '', tools: [] },
      policy: { rules: [{ id: 'allow-all', decision: 'allow' }], approval: { approvers: ['bob'] } },
    };
    const handle = await startRaw(forged);
    const result: TaskResult = await handle.result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(result.detail).toContain('start request is invalid');
    expect(existsSync(join(harness.workspace, 'pwned.txt'))).toBe(false);
    expect(harness.mock.requests).toHaveLength(0);
    await recordHistory('start-refused', handle);
  });

  test('forged carried state (a fake continue-as-new) is refused', async () => {
    const handle = await startRaw({
      taskId: 'x',
      agent: writer.name,
      principal: 'bob',
      carried: { step: 0 },
    });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(result.detail).toContain('only a continue-as-new may carry state');
    const state = await handle.query(stateQuery);
    expect(state).toMatchObject({ status: 'stopped', stopReason: 'refused' });
  });

  test('a request that raises a limit above the operator’s is refused, naming the limit', async () => {
    const task = harness.spec(writer, { limits: { maxSteps: 500 } });
    const result = await (await harness.launch(task)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(result.detail).toBe('narrow.limits.maxSteps 500 would widen the task: the most allowed is 12');
  });

  test('operator limits lower an agent’s: config maxSteps 3 and 16 tokens hold against the agent’s 12 and 512', async () => {
    harness.writeWorkspaceFile('loop.txt', 'again');
    harness.mock.otherwise({ tool: 'read_file', args: { path: 'loop.txt' } });
    const config = harness.config();
    config.limits = { ...config.limits, maxSteps: 3, maxOutputTokens: 16 };
    const result = await (await harness.launch(harness.spec(writer, {}, config))).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'max_steps', steps: 3 });
    const asked = harness.mock.requests.map((r) => r.body.max_tokens);
    expect(Math.max(...asked.map(Number))).toBeLessThanOrEqual(16);
  });
});

describe('no message can wedge a task', () => {
  test('an approval signal nested 100,000 deep is refused and audited; the task keeps answering and can be approved', async () => {
    harness.mock.reply(
      { tool: 'write_file', args: { path: 'ok.txt', content: 'fine' } },
      { tool: 'finish', args: { result: 'done' } },
    );
    const task = harness.spec(writer, { input: 'write ok.txt' });
    const handle = await harness.launch(task);
    await waitForApproval(task.taskId);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    await rawSignal(task.taskId, 'approval', `{"approvalId":"approval-2","identity":${deep}}`);
    await rawSignal(task.taskId, 'cancel', `{"identity":${deep},"reason":"x"}`);
    const refused = await eventually(async () => {
      const audit = await harness.client.audit(task.taskId);
      return audit.some((e) => e.kind === 'task.cancel_refused') ? audit : undefined;
    }, 'the refusals in the audit');
    const approvalRefused = refused.find((e) => e.kind === 'approval.refused')!;
    expect(approvalRefused.data).toMatchObject({
      identity: null,
      problem: expect.stringMatching(/refused: /),
    });
    expect(JSON.stringify(refused).length).toBeLessThan(20_000); // nothing of the payload was kept
    expect((await harness.client.state(task.taskId)).status).toBe('awaiting_approval');

    // an oversized reason is refused by the update's validator, and the task still waits
    const huge = await harness.client
      .decide(task.taskId, { identity: 'alice', decision: 'approve', reason: 'x'.repeat(1_500_000) })
      .catch((err: unknown) => err);
    expect(huge).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((huge as Error).cause)).toMatch(/reason/);
    await harness.client.decide(task.taskId, { identity: 'alice', decision: 'approve', reason: 'fine' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'done' });
    expect(verifyAudit(await harness.client.audit(task.taskId)).ok).toBe(true);
    await recordHistory('poison-messages-refused', handle);
  });

  test('a cancel with a malformed payload is refused; a proper one still cancels', async () => {
    harness.mock.reply({ stallMs: 20_000 });
    const task = harness.spec(writer, { input: 'slow' });
    const handle = await harness.launch(task);
    await eventually(
      async () => ((await harness.client.state(task.taskId)).current?.startsWith('model') ? true : undefined),
      'model step',
    );
    await handle.signal(cancelSignal, { identity: 'x'.repeat(5000) });
    await eventually(async () => {
      const audit = await harness.client.audit(task.taskId);
      return audit.some((e) => e.kind === 'task.cancel_refused') ? true : undefined;
    }, 'refused cancel');
    expect((await harness.client.state(task.taskId)).status).toBe('running');
    await harness.client.cancel(task.taskId, 'bob', 'really');
    expect(await handle.result()).toMatchObject({
      stopReason: 'cancelled',
      detail: 'cancelled by bob: really',
    });
  });
});

describe('oversized model output never reaches history', () => {
  test('a 1.4 MB tool-call argument is refused as invalid output and fed back bounded; the task goes on', async () => {
    harness.mock.reply(
      { tool: 'write_file', args: { path: 'big.txt', content: '"'.repeat(700_000) } },
      { tool: 'finish', args: { result: 'gave up on it' }, usage: { prompt: 10, completion: 2 } },
    );
    const task = harness.spec(writer, { input: 'write a big file' });
    const handle = await harness.launch(task);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'gave up on it' });
    const fed = harness.mock.requests.at(-1)!.body.messages.at(-1)!;
    expect(fed.content).toMatch(/characters, over the 1048576 allowed/);
    expect(String(fed.content).length).toBeLessThan(5000);
    const historyBytes = JSON.stringify(await handle.fetchHistory()).length;
    expect(historyBytes).toBeLessThan(200_000);
    expect(existsSync(join(harness.workspace, 'big.txt'))).toBe(false);
  });

  test('a 10 MB answer is kept in the blob store, charged, and the task completes', async () => {
    harness.mock.reply({ text: 'y'.repeat(10_000_000), usage: { prompt: 100, completion: 200 } }); // within max_tokens (256)
    const task = harness.spec(writer, { input: 'say a lot' });
    const handle = await harness.launch(task);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.result).toMatchObject({
      $blob: expect.stringMatching(/^[0-9a-f]{64}$/),
      bytes: 10_000_002,
    });
    expect(result.spendUsd).toBeGreaterThan(0);
    expect(JSON.stringify(await handle.fetchHistory()).length).toBeLessThan(200_000);
  }, 60_000);
});
