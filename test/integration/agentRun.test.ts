import { WorkflowUpdateFailedError } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentDefinition } from '../../src/agents/definition';
import { verifyAudit } from '../../src/audit/chain';
import { approvalToSign, signDecision } from '../../src/audit/signing';
import { approvalSignal } from '../../src/workflows/messages';
import { recordHistory } from '../support/replayRecorder';
import { eventually, Harness } from '../support/harness';

const freeAgent: AgentDefinition = {
  name: 'test-free',
  description: 'model-driven agent for tests',
  instructions: 'Do what the user asks with the tools.',
  tools: ['read_file', 'write_file', 'text_stats'],
};

const harness = new Harness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => {
  harness.mock.reset();
  harness.mock2.reset();
});

describe('agentRun on a real Temporal dev server', () => {
  test('a model-driven task reads a file, runs a compute job and completes with the model’s answer', async () => {
    harness.writeWorkspaceFile('a.txt', 'alpha beta gamma');
    harness.mock.reply(
      { tool: 'read_file', args: { path: 'a.txt' } },
      { tool: 'text_stats', args: { text: 'alpha beta gamma' } },
      { tool: 'finish', args: { result: 'three words' }, usage: { prompt: 100, completion: 5 } },
    );
    const spec = harness.spec(freeAgent, { input: 'how many words are in a.txt?' });
    const handle = await harness.launch(spec);
    const result = await handle.result();

    expect(result).toMatchObject({
      status: 'completed',
      stopReason: 'completed',
      result: 'three words',
      steps: 5,
    });
    // usage 40+10 twice and 100+5 once, at $1 / $2 per million tokens
    expect(result.spendUsd).toBeCloseTo((180 * 1 + 25 * 2) / 1e6, 9);
    const audit = await harness.client.audit(spec.taskId);
    expect(verifyAudit(audit)).toEqual({ ok: true, head: result.auditHead });
    expect(audit.map((e) => e.kind)).toEqual(
      expect.arrayContaining([
        'task.started',
        'model.called',
        'policy.decided',
        'tool.completed',
        'task.completed',
      ]),
    );
    const computeEntry = audit.find((e) => e.kind === 'tool.completed' && e.data.tool === 'text_stats')!;
    expect(computeEntry.data.node).toBe('local');
    // the tool result went back to the model as a tool message answering its call
    const third = harness.mock.requests.at(-1)!.body.messages;
    expect(third.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_2' });
    expect(JSON.parse(third.at(-1)!.content!)).toMatchObject({ words: 3 });
    const history = await handle.fetchHistory();
    const summaries = history
      .events!.filter((e) => e.activityTaskScheduledEventAttributes)
      .map(
        (e) =>
          e.userMetadata?.summary?.data && JSON.parse(Buffer.from(e.userMetadata.summary.data).toString()),
      );
    expect(summaries).toEqual([
      'model: mock-large via mock, step 1',
      'tool: read_file, step 2',
      'model: mock-large via mock, step 3',
      'compute: text_stats on node local, step 4',
      'model: mock-large via mock, step 5',
    ]);
    await recordHistory('model-driven-completes', handle);
  });

  test('a write needs approval: another identity is refused, an allowed one approves, the file is written once', async () => {
    harness.mock.reply(
      { tool: 'write_file', args: { path: 'out.txt', content: 'hello' } },
      { tool: 'finish', args: { result: 'written' } },
    );
    const spec = harness.spec(freeAgent, { input: 'write hello to out.txt' });
    const handle = await harness.launch(spec);
    const pending = await eventually(
      async () => (await harness.client.state(spec.taskId)).pendingApproval,
      'approval request',
    );
    expect(pending).toMatchObject({
      action: { tool: 'write_file', input: { path: 'out.txt', content: 'hello' } },
      approvers: ['alice'],
    });
    expect((await harness.client.state(spec.taskId)).status).toBe('awaiting_approval');

    await expect(
      harness.client.decide(spec.taskId, { identity: 'mallory', decision: 'approve' }),
    ).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(
      harness.client.decide(spec.taskId, {
        identity: 'alice',
        decision: 'approve',
        approvalId: pending.id,
        digest: 'f'.repeat(64),
      }),
    ).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(
      harness.client.decide(spec.taskId, {
        identity: 'alice',
        decision: 'approve',
        approvalId: 'approval-99',
        digest: pending.digest,
      }),
    ).rejects.toThrow(WorkflowUpdateFailedError);

    const decided = await harness.client.decide(spec.taskId, {
      identity: 'alice',
      decision: 'approve',
      reason: 'looks right',
    });
    expect(decided).toEqual({ approvalId: pending.id, outcome: 'approved' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'written' });
    expect(readFileSync(join(harness.workspace, 'out.txt'), 'utf8')).toBe('hello');
    const audit = await harness.client.audit(spec.taskId);
    const decision = audit.find((e) => e.kind === 'approval.decided')!;
    expect(decision.data).toMatchObject({
      identity: 'alice',
      decision: 'approve',
      reason: 'looks right',
      digest: pending.digest,
    });
    expect(Date.parse(decision.at)).toBeGreaterThan(0);
    expect(audit.filter((e) => e.kind === 'approval.decided')).toHaveLength(1); // refused attempts left no mark
    await recordHistory('approval-granted', handle);
  });

  test('a rejection stops the task with approval_rejected and the action never runs', async () => {
    harness.mock.reply({ tool: 'write_file', args: { path: 'never.txt', content: 'no' } });
    const spec = harness.spec(freeAgent, { input: 'write never.txt' });
    const handle = await harness.launch(spec);
    await eventually(
      async () => (await harness.client.state(spec.taskId)).pendingApproval,
      'approval request',
    );
    await harness.client.decide(spec.taskId, { identity: 'alice', decision: 'reject', reason: 'not today' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'approval_rejected' });
    expect(result.result).toBeUndefined();
    expect(result.detail).toContain('not today');
    expect(() => readFileSync(join(harness.workspace, 'never.txt'))).toThrow();
  });

  test('an approval nobody decides expires at its deadline and stops the task', async () => {
    harness.mock.reply({ tool: 'write_file', args: { path: 'late.txt', content: 'x' } });
    const config = { ...harness.config() };
    config.policy = { ...config.policy, approval: { ...config.policy.approval, timeoutSeconds: 1 } };
    const spec = harness.spec(freeAgent, { input: 'write late.txt' }, config);
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'approval_expired' });
    const kinds = (await harness.client.audit(spec.taskId)).map((e) => e.kind);
    expect(kinds).toContain('approval.expired');
    expect(kinds).not.toContain('tool.completed');
  });

  test('an expired approval escalates when the policy says so, and the escalation approver decides', async () => {
    harness.mock.reply(
      { tool: 'write_file', args: { path: 'esc.txt', content: 'y' } },
      { tool: 'finish', args: { result: 'done' } },
    );
    const config = { ...harness.config() };
    config.policy = {
      ...config.policy,
      approval: {
        ...config.policy.approval,
        timeoutSeconds: 1,
        onExpiry: 'escalate',
        escalateTo: ['carol'],
        escalationTimeoutSeconds: 60,
      },
    };
    const spec = harness.spec(freeAgent, { input: 'write esc.txt' }, config);
    const handle = await harness.launch(spec);
    const escalated = await eventually(async () => {
      const pending = (await harness.client.state(spec.taskId)).pendingApproval;
      return pending?.escalated ? pending : undefined;
    }, 'escalation');
    expect(escalated.approvers).toEqual(['carol']);
    await expect(
      harness.client.decide(spec.taskId, { identity: 'alice', decision: 'approve' }),
    ).rejects.toThrow();
    await harness.client.decide(spec.taskId, { identity: 'carol', decision: 'approve' });
    expect(await handle.result()).toMatchObject({ status: 'completed', result: 'done' });
  });

  test('a provider that keeps failing falls back to the next route, and the spend is the real one', async () => {
    harness.mock.otherwise({ status: 500 });
    harness.mock2.reply({
      tool: 'finish',
      args: { result: 'from the fallback' },
      usage: { prompt: 10, completion: 10 },
    });
    const config = harness.config();
    config.models = [
      {
        id: 'cheap',
        provider: 'mock',
        model: 'flaky',
        trust: 'public',
        price: { inputPerMTok: 0.5, outputPerMTok: 0.5 },
      },
      {
        id: 'backup',
        provider: 'mock2',
        model: 'steady',
        trust: 'public',
        price: { inputPerMTok: 3, outputPerMTok: 3 },
      },
    ];
    const spec = harness.spec(freeAgent, { input: 'anything' }, config);
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'completed', result: 'from the fallback' });
    expect(harness.mock.requests.length - before).toBe(4); // the route's retry policy: 4 attempts
    expect(result.spendUsd).toBeCloseTo((20 * 3) / 1e6, 9);
    const failed = (await harness.client.audit(spec.taskId)).find((e) => e.kind === 'step.failed')!;
    expect(failed.data).toMatchObject({ route: 'cheap' });
    expect(String(failed.data.error)).toContain('ProviderUnavailable');
  }, 60_000);

  test('when every route fails the task stops with provider_failure instead of inventing an answer', async () => {
    const config = harness.config();
    config.models = [
      {
        id: 'only',
        provider: 'mock',
        model: 'broken',
        trust: 'public',
        price: { inputPerMTok: 1, outputPerMTok: 1 },
      },
    ];
    harness.mock.reply({ status: 401, body: '{"error":{"message":"bad key"}}' });
    const spec = harness.spec(freeAgent, { input: 'anything' }, config);
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'provider_failure' });
    expect(result.result).toBeUndefined();
    expect(result.detail).toContain('401');
    expect(harness.mock.requests.length - before).toBe(1); // a 401 is not retried
  });

  test('a cancel signal stops a task in the middle of a model call', async () => {
    harness.mock.reply({ stallMs: 20_000 });
    const spec = harness.spec(freeAgent, { input: 'slow' });
    const handle = await harness.launch(spec);
    await eventually(
      async () => ((await harness.client.state(spec.taskId)).current?.startsWith('model') ? true : undefined),
      'model step',
    );
    await harness.client.cancel(spec.taskId, 'bob', 'changed my mind');
    const result = await handle.result();
    expect(result).toMatchObject({
      status: 'stopped',
      stopReason: 'cancelled',
      detail: 'cancelled by bob: changed my mind',
    });
    await recordHistory('cancelled', handle);
  });

  test('the budget is never exceeded: a step that cannot fit is not started', async () => {
    harness.mock.reply(
      { tool: 'read_file', args: { path: 'a.txt' } },
      { tool: 'finish', args: { result: 'never reached' } },
    );
    harness.writeWorkspaceFile('a.txt', 'x'.repeat(5000));
    const config = harness.config();
    config.models = [
      {
        id: 'pricey',
        provider: 'mock',
        model: 'gold',
        trust: 'public',
        price: { inputPerMTok: 100, outputPerMTok: 100 },
      },
    ];
    // the first call fits (about 1 KB of prompt at $100/M tokens); the second carries 5 KB more and does not
    const spec = harness.spec(freeAgent, { input: 'read a.txt', limits: { budgetUsd: 0.3 } }, config);
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'budget_exhausted' });
    expect(result.spendUsd).toBeLessThanOrEqual(0.3);
    expect(harness.mock.requests.length - before).toBe(1);
    const reservedMax = harness.mock.requests.at(-1)!.body.max_tokens!;
    expect(reservedMax).toBeLessThanOrEqual(256);
  });

  test('invalid model output is fed back a bounded number of times, then the task stops', async () => {
    harness.mock.reply(
      { tool: 'read_file', args: { wrong: 1 } },
      { tool: 'no_such_tool', args: {} },
      { tool: 'read_file', rawArgs: '{not json' },
      { tool: 'read_file', args: { path: 42 } },
    );
    const spec = harness.spec(freeAgent, { input: 'go', limits: { maxInvalidOutputs: 3 } });
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'invalid_output' });
    expect(harness.mock.requests.length - before).toBe(4);
    const fed = harness.mock.requests.at(-1)!.body.messages.at(-1)!;
    expect(fed.role).toBe('user');
    expect(fed.content).toContain('not JSON');
  });

  test('a denied action is fed back to the model; repeated denials stop the task', async () => {
    harness.mock.otherwise({ tool: 'write_file', args: { path: 'secrets.txt', content: 'x' } });
    const config = harness.config();
    config.policy.rules = [
      { id: 'no-writes', tools: ['write_file'], decision: 'deny', reason: 'this agent may not write' },
    ];
    const spec = harness.spec(freeAgent, { input: 'write it', limits: { maxDenials: 1 } }, config);
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'denied' });
    expect(result.detail).toContain('this agent may not write');
    expect(harness.mock.requests.length - before).toBe(2);
    const fed = harness.mock.requests.at(-1)!.body.messages.at(-1)!;
    expect(fed).toMatchObject({ role: 'tool' });
    expect(fed.content).toContain('Denied by policy: this agent may not write');
    const policyEntries = (await harness.client.audit(spec.taskId)).filter(
      (e) => e.kind === 'policy.decided',
    );
    expect(policyEntries.map((e) => e.data.ruleIds)).toEqual([['no-writes'], ['no-writes']]);
  });

  test('max_steps stops a task that would go on', async () => {
    harness.writeWorkspaceFile('loop.txt', 'again');
    harness.mock.otherwise({ tool: 'read_file', args: { path: 'loop.txt' } });
    const spec = harness.spec(freeAgent, { input: 'loop', limits: { maxSteps: 4 } });
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'max_steps', steps: 4 });
  });

  test('large tool output goes to the blob store; history carries its hash and the model still sees it', async () => {
    const big = 'word '.repeat(30_000); // 150 KB
    harness.writeWorkspaceFile('big.txt', big);
    harness.mock.reply(
      { tool: 'read_file', args: { path: 'big.txt' } },
      { tool: 'finish', args: { result: 'read it' } },
    );
    const spec = harness.spec(freeAgent, { input: 'read big.txt' });
    const handle = await harness.launch(spec);
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    const history = JSON.stringify(await handle.fetchHistory());
    expect(history.length).toBeLessThan(100_000);
    const toolMessage = harness.mock.requests.at(-1)!.body.messages.at(-1)!;
    expect(toolMessage.content!.length).toBeGreaterThan(150_000);
  });

  test('a long task continues as new and carries its state, audit chain included', async () => {
    harness.writeWorkspaceFile('c.txt', 'c');
    harness.mock.reply(...Array.from({ length: 3 }, () => ({ tool: 'read_file', args: { path: 'c.txt' } })), {
      tool: 'finish',
      args: { result: 'after three reads' },
    });
    const spec = harness.spec(freeAgent, { input: 'read c.txt three times', limits: { stepsPerRun: 2 } });
    const handle = await harness.launch(spec);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'after three reads', steps: 7 });
    const audit = await harness.client.audit(spec.taskId);
    expect(audit.filter((e) => e.kind === 'task.continued').length).toBeGreaterThanOrEqual(2);
    expect(verifyAudit(audit)).toEqual({ ok: true, head: result.auditHead });
    const count = async () =>
      (await harness.client.client.workflow.count(`WorkflowId = '${spec.taskId}'`)).count;
    await eventually(
      async () => ((await count()) >= 3 ? true : undefined),
      'three runs of the task in visibility',
    );
  });

  test('fire-and-forget clients decide by signal: a refused one is audited, an allowed one proceeds', async () => {
    harness.mock.reply(
      { tool: 'write_file', args: { path: 'signalled.txt', content: 's' } },
      { tool: 'finish', args: { result: 'done by signal' } },
    );
    const spec = harness.spec(freeAgent, { input: 'write signalled.txt' });
    const handle = await harness.launch(spec);
    const pending = await eventually(
      async () => (await harness.client.state(spec.taskId)).pendingApproval,
      'approval request',
    );
    const decision = { approvalId: pending.id, digest: pending.digest, decision: 'approve' as const };
    const signed = (identity: string) => ({
      ...decision,
      identity,
      signature: signDecision(
        harness.signer.privateKey,
        harness.signer.keyId,
        approvalToSign(spec.taskId, { ...decision, identity, runId: pending.runId }),
        new Date().toISOString(),
      ),
    });
    await handle.signal(approvalSignal, signed('mallory'));
    await handle.signal(approvalSignal, signed('alice'));
    expect(await handle.result()).toMatchObject({ status: 'completed', result: 'done by signal' });
    const audit = await harness.client.audit(spec.taskId);
    expect(audit.find((e) => e.kind === 'approval.refused')!.data).toMatchObject({ identity: 'mallory' });
    expect(audit.find((e) => e.kind === 'approval.decided')!.data).toMatchObject({ identity: 'alice' });
  });

  test('the task deadline stops a task that waits past it, with reason deadline', async () => {
    harness.mock.reply({ tool: 'write_file', args: { path: 'd.txt', content: 'd' } });
    const spec = harness.spec(freeAgent, { input: 'write d.txt', limits: { deadlineSeconds: 1 } });
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'deadline' });
  });

  test('once the transcript holds internal data, a model outside the data boundary is never asked: no_route', async () => {
    harness.writeWorkspaceFile('internal.txt', 'quarterly numbers');
    harness.mock.reply(
      { tool: 'read_file', args: { path: 'internal.txt' } },
      { tool: 'finish', args: { result: 'leaked' } },
    );
    const config = harness.config();
    config.policy.dataBoundaries = {
      public: ['local', 'private', 'public'],
      internal: ['local'],
      confidential: ['local'],
    };
    const spec = harness.spec(freeAgent, { input: 'read internal.txt' }, config);
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'no_route' });
    expect(result.detail).toContain('internal');
    expect(harness.mock.requests.length - before).toBe(1); // asked before reading, never after
  });

  test('a compute node that does not pick the job up is treated as down; the job runs on the next node', async () => {
    harness.mock.reply(
      { tool: 'text_stats', args: { text: 'one two three four' } },
      { tool: 'finish', args: { result: 'counted' } },
    );
    const config = harness.config();
    config.computeNodes = [
      { id: 'dead', taskQueue: `${harness.nodeQueue}-nobody-polls`, trust: 'local', pickupTimeoutSeconds: 1 },
      { id: 'local', taskQueue: harness.nodeQueue, trust: 'local' },
    ];
    const spec = harness.spec(freeAgent, { input: 'count the words' }, config);
    const handle = await harness.launch(spec);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'counted' });
    const audit = await harness.client.audit(spec.taskId);
    expect(audit.find((e) => e.kind === 'step.failed')!.data).toMatchObject({ route: 'dead' });
    expect(audit.find((e) => e.kind === 'tool.completed')!.data).toMatchObject({
      tool: 'text_stats',
      node: 'local',
    });
    await recordHistory('compute-node-failover', handle);
  });

  test('a decide step lets the model fill a tool call under the plan, and invalid arguments are fed back', async () => {
    harness.writeWorkspaceFile('pick.txt', 'picked');
    harness.mock.reply(
      { tool: 'read_file', args: { file: 'pick.txt' } },
      { tool: 'read_file', args: { path: 'pick.txt' } },
    );
    const agent = {
      ...freeAgent,
      name: 'test-decide',
      plan: [
        { id: 'pick', kind: 'decide' as const, prompt: 'Read {{input.name}}', tools: ['read_file'] },
        { id: 'done', kind: 'finish' as const, result: 'got {{steps.pick.output.text}}' },
      ],
    };
    const spec = harness.spec(agent, { input: { name: 'pick.txt' } });
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'completed', result: 'got picked' });
    const requests = harness.mock.requests.slice(before);
    expect(requests).toHaveLength(2);
    expect(requests[0]!.body.tools!.map((t) => t.function.name)).toEqual(['read_file']); // only the step's tools, no finish
    expect(requests[1]!.body.messages.at(-1)!.content).toContain('not a valid action');
  });

  test('a tool failure in a model-driven loop is fed back to the model, which can recover', async () => {
    harness.mock.reply(
      { tool: 'read_file', args: { path: 'missing.txt' } },
      { tool: 'finish', args: { result: 'that file does not exist' } },
    );
    const spec = harness.spec(freeAgent, { input: 'read missing.txt' });
    const before = harness.mock.requests.length;
    const result = await (await harness.launch(spec)).result();
    expect(result).toMatchObject({ status: 'completed', result: 'that file does not exist' });
    const fed = harness.mock.requests[before + 1]!.body.messages.at(-1)!;
    expect(fed.role).toBe('tool');
    expect(fed.content).toContain(
      'The tool failed: read_file failed: ToolRejected: missing.txt does not exist',
    );
  });

  test('a long conversation moves into the blob store: history does not repeat it at every step', async () => {
    harness.writeWorkspaceFile('chunk.txt', 'lorem ipsum '.repeat(2_500)); // 30 KB, under the blob threshold
    harness.mock.reply(
      ...Array.from({ length: 6 }, () => ({ tool: 'read_file', args: { path: 'chunk.txt' } })),
      { tool: 'finish', args: { result: 'read six times' } },
    );
    const spec = harness.spec(freeAgent, { input: 'read chunk.txt six times' });
    const handle = await harness.launch(spec);
    expect(await handle.result()).toMatchObject({ status: 'completed', result: 'read six times' });

    // the model saw the whole conversation every time…
    const lastRequest = harness.mock.requests.at(-1)!.body.messages;
    expect(lastRequest.filter((m) => m.role === 'tool')).toHaveLength(6);
    expect(JSON.stringify(lastRequest).length).toBeGreaterThan(180_000);
    // …while no model call in history carries more than its new messages and a reference
    const events = (await handle.fetchHistory()).events!;
    const modelInputs = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel')
      .map((e) => e.activityTaskScheduledEventAttributes!.input!.payloads![0]!.data!.length);
    expect(modelInputs).toHaveLength(7);
    expect(Math.max(...modelInputs)).toBeLessThan(80_000);
    await recordHistory('transcript-in-blob-store', handle);
  });
});
