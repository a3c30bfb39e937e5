import { z } from 'zod';
import type { AgentDefinition } from '../../src/agents/definition';
import { verifyAudit } from '../../src/audit/chain';
import { matchHistory } from '../../src/runtime/auditHistory';
import { taskHistories } from '../../src/runtime/replay';
import { defineTool } from '../../src/tools/registry';
import { StewardSpendUsd, StewardStatus, StewardStep } from '../../src/workflows/searchAttributes';
import { recordHistory } from '../support/replayRecorder';
import { eventually, Harness } from '../support/harness';

/** A short read that declares it may run as a local activity. */
const peek = defineTool({
  name: 'peek',
  description: 'Says how long a text is.',
  effect: 'read',
  dataClass: 'public',
  local: { timeoutSeconds: 5 },
  input: z.object({ text: z.string() }),
  output: z.object({ length: z.number() }),
  handler: async ({ text }) => ({ length: text.length }),
});

const free: AgentDefinition = {
  name: 'test-lean',
  description: 'model-driven, with a local read, an activity read and a write',
  instructions: 'Do what the user asks with the tools.',
  tools: ['peek', 'read_file', 'write_file'],
};
const planned: AgentDefinition = {
  name: 'test-lean-plan',
  description: 'three local reads in a plan',
  instructions: 'n/a',
  tools: ['peek'],
  plan: [
    { id: 'a', kind: 'tool', tool: 'peek', input: { text: 'a' } },
    { id: 'b', kind: 'tool', tool: 'peek', input: { text: 'bb' } },
    { id: 'c', kind: 'tool', tool: 'peek', input: { text: 'ccc' } },
    { id: 'done', kind: 'finish', result: '{{steps.c.output.length}}' },
  ],
};

const harness = new Harness({ tools: [peek] });
beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => harness.mock.reset());

type History = Awaited<ReturnType<Awaited<ReturnType<Harness['launch']>>['fetchHistory']>>;

/**
 * How many upserts of Steward attributes each workflow task made (the SDK's own TemporalChangeVersion
 * aside): a task's commands are the events after its WorkflowTaskCompleted.
 */
function upsertsPerWorkflowTask(history: History): number[] {
  const counts: number[] = [];
  for (const event of history.events!) {
    if (event.workflowTaskCompletedEventAttributes) counts.push(0);
    const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    if (fields && Object.keys(fields).some((k) => k.startsWith('Steward'))) counts[counts.length - 1]!++;
  }
  return counts;
}

function summariesOfActivities(history: History): string[] {
  return history
    .events!.filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data!).toString()));
}

describe('lean steps: short reads run locally, visibility is written once per wait', () => {
  test('a read declared local runs as a local activity; an undeclared read, a write and its approval as before', async () => {
    harness.writeWorkspaceFile('lean.txt', 'lean');
    harness.mock.reply(
      { tool: 'peek', args: { text: 'hello' } },
      { tool: 'read_file', args: { path: 'lean.txt' } },
      { tool: 'write_file', args: { path: 'lean-out.txt', content: 'done' } },
      { tool: 'finish', args: { result: 'ok' }, usage: { prompt: 10, completion: 2 } },
    );
    const spec = harness.spec(free, { input: 'peek, read, write' });
    const handle = await harness.launch(spec);
    // the task waits: visibility shows where it is (read with describe, not a query: a query that
    // reaches a workflow while a local activity runs can shift its clock, see bench/README.md)
    await eventually(async () => {
      const attrs = (await handle.describe()).typedSearchAttributes;
      // five steps run; the approval gates step 6, the step every display names while it waits
      return attrs.get(StewardStatus) === 'awaiting_approval' && attrs.get(StewardStep) === 6
        ? true
        : undefined;
    }, 'awaiting_approval at step 6 in visibility');
    const pending = (await harness.client.state(spec.taskId)).pendingApproval!;
    await harness.client.decide(spec.taskId, {
      identity: 'alice',
      decision: 'approve',
      approvalId: pending.id,
    });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'ok', steps: 7 });
    const audit = await harness.client.audit(spec.taskId);
    expect(verifyAudit(audit)).toEqual({ ok: true, head: result.auditHead });
    const peeked = audit.find((e) => e.kind === 'tool.completed' && e.data.tool === 'peek')!;
    expect(peeked.data).toMatchObject({ bytes: 12 });
    // the model saw the local read's output as any other tool's
    expect(JSON.parse(harness.mock.requests[1]!.body.messages.at(-1)!.content!)).toEqual({ length: 5 });

    const history = await handle.fetchHistory();
    expect(summariesOfActivities(history)).toEqual([
      'model: mock-large via mock, step 1',
      'model: mock-large via mock, step 3',
      'tool: read_file, step 4',
      'model: mock-large via mock, step 5',
      'tool: write_file, step 6',
      'model: mock-large via mock, step 7',
    ]);
    // the local read is a marker (as are the task's resolution and its audit exports), with its summary
    const localSteps = history
      .events!.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      .filter((e) => e.userMetadata?.summary?.data)
      .map((e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data!).toString()));
    expect(localSteps).toEqual(['tool: peek, step 2']);
    for (const n of upsertsPerWorkflowTask(history)) expect(n).toBeLessThanOrEqual(1);
    // the trail matches the history, the local read by its marker
    const runs = await taskHistories(harness.client.client, spec.taskId);
    expect(
      matchHistory(
        audit,
        runs.map((r) => r.history),
      ),
    ).toEqual({ ok: true, activities: 7 });
    const attrs = (await handle.describe()).typedSearchAttributes;
    expect(attrs.get(StewardStatus)).toBe('completed');
    expect(attrs.get(StewardStep)).toBe(7);
    expect(attrs.get(StewardSpendUsd)).toBeCloseTo(result.spendUsd, 9);
    await recordHistory('lean-steps-model-driven', handle);
  });

  test('a plan of local reads runs without an activity and publishes its attributes once', async () => {
    const spec = harness.spec(planned);
    const handle = await harness.launch(spec);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 3, steps: 3 });
    const history = await handle.fetchHistory();
    expect(summariesOfActivities(history)).toEqual([]);
    expect(upsertsPerWorkflowTask(history).reduce((a, b) => a + b, 0)).toBe(1);
    const attrs = (await handle.describe()).typedSearchAttributes;
    expect(attrs.get(StewardStatus)).toBe('completed');
    expect(attrs.get(StewardStep)).toBe(3);
    await recordHistory('lean-steps-local-plan', handle);
  });

  test('a cancel during a model call in a lean run stops the task, and visibility says stopped', async () => {
    harness.mock.reply({ stallMs: 20_000 });
    const agent: AgentDefinition = { ...free, name: 'test-lean-cancel' };
    const spec = harness.spec(agent, { input: 'wait' });
    const handle = await harness.launch(spec);
    await eventually(
      async () => ((await harness.client.state(spec.taskId)).current?.startsWith('model') ? true : undefined),
      'model step',
    );
    await harness.client.cancel(spec.taskId, 'bob', 'enough');
    expect(await handle.result()).toMatchObject({
      stopReason: 'cancelled',
      detail: 'cancelled by bob: enough',
    });
    const attrs = (await handle.describe()).typedSearchAttributes;
    expect(attrs.get(StewardStatus)).toBe('stopped');
  });
});
