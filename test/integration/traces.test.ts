import { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import type { AgentDefinition } from '../../src/agents/definition';
import { parseConfig, type LoadedConfig } from '../../src/config/load';
import { createProviders } from '../../src/providers';
import { startTelemetry } from '../../src/runtime/telemetry';
import { stateQuery } from '../../src/workflows/messages';
import { eventually, Harness } from '../support/harness';
import { MockOpenAI } from '../support/mockOpenAI';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlpReceiver';

/**
 * Traces (README: Traces) against a real OTLP/HTTP receiver: real tasks on the suite's Temporal dev
 * server, their model calls answered by a local OpenAI-compatible server that needs an API key.
 */
const agent: AgentDefinition = {
  name: 'test-traced',
  description: 'model-driven agent for the trace tests',
  instructions: 'Do what the user asks with the tools.',
  tools: ['read_file', 'write_file'],
};

// the key the provider sends, as a configured key is read: from the environment
const KEY_ENV = 'STEWARD_TRACES_TEST_KEY';
const SECRET = `sk-traces-${randomBytes(12).toString('hex')}`;
// text that appears only in the content of prompts, answers, tool arguments and outputs
const PROMPT = `prompt-marker-${randomBytes(4).toString('hex')}`;
const FILE_TEXT = `file-marker-${randomBytes(4).toString('hex')}`;
const WRITTEN = `written-marker-${randomBytes(4).toString('hex')}`;
const ANSWER = `answer-marker-${randomBytes(4).toString('hex')}`;

// the first traced worker bundles the workflow code with the tracing interceptors: seconds on a busy machine
jest.setTimeout(120_000);

const receiver = new OtlpReceiver();
const model = new MockOpenAI(); // the `mock` route's endpoint: it is reached with the key
let harness: Harness;

beforeAll(async () => {
  await Promise.all([receiver.start(), model.start()]);
  process.env[KEY_ENV] = SECRET;
  // the provider is made as a worker makes it: the key read from its variable and registered as a secret
  const keyed = await createProviders(
    parseConfig({
      providers: { mock: { kind: 'openai-compatible', baseURL: model.url, apiKeyEnv: KEY_ENV } },
      models: [{ id: 'primary', provider: 'mock', model: 'mock-large' }],
    }),
  );
  harness = await new Harness({ providers: { mock: keyed.get('mock')! }, computeNode: false }).start();
});
afterAll(async () => {
  await harness?.stop();
  await Promise.all([receiver.stop(), model.stop()]);
  delete process.env[KEY_ENV];
});
beforeEach(() => model.reset());

function tracedConfig(includeContent: boolean): LoadedConfig {
  return {
    ...harness.config(),
    telemetry: { otlpEndpoint: receiver.url, includeContent, serviceName: 'steward-traces-test' },
  };
}

/** The spans of the task's trace, once its workflow span has arrived (flushing until it has). */
async function traceOf(taskId: string, config: LoadedConfig): Promise<ReceivedSpan[]> {
  const telemetry = (await startTelemetry(config.telemetry))!;
  return eventually(async () => {
    await telemetry.flush();
    const start = receiver.spans.find(
      (s) => s.name === 'StartWorkflow:agentRun' && s.attributes.temporalWorkflowId === taskId,
    );
    if (!start) return undefined;
    const trace = receiver.spans.filter((s) => s.traceId === start.traceId);
    return trace.some((s) => s.name === 'RunWorkflow:agentRun') ? trace : undefined;
  }, `the trace of ${taskId}`);
}

function parentOf(span: ReceivedSpan, trace: ReceivedSpan[]): ReceivedSpan {
  const parent = trace.find((s) => s.spanId === span.parentSpanId);
  if (!parent) throw new Error(`${span.name} has no parent in its trace`);
  return parent;
}

async function approveWhenAsked(taskId: string): Promise<void> {
  const pending = await eventually(
    async () => (await harness.client.state(taskId)).pendingApproval,
    `the approval request of ${taskId}`,
  );
  await harness.client.decide(taskId, { identity: 'alice', decision: 'approve', approvalId: pending.id });
}

describe('traces', () => {
  // first: no telemetry has been started in this process yet, so anything received would be this task's
  test('with telemetry off (the default) a task exports nothing and no tracing is set up', async () => {
    harness.writeWorkspaceFile('off.txt', FILE_TEXT);
    model.reply({ tool: 'read_file', args: { path: 'off.txt' } }, { tool: 'finish', args: { result: 'ok' } });
    const spec = harness.spec(agent, { input: PROMPT });
    expect(spec.config.telemetry.otlpEndpoint).toBeUndefined();
    await expect(startTelemetry(spec.config.telemetry)).resolves.toBeUndefined();
    const result = await (await harness.launch(spec)).result();
    expect(result.status).toBe('completed');
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.bodies).toEqual([]);
  });

  test('a task is one trace: the client start, the workflow, its activities, chat and execute_tool spans with GenAI attributes, no content', async () => {
    harness.writeWorkspaceFile('notes.txt', FILE_TEXT);
    model.reply(
      { tool: 'read_file', args: { path: 'missing.txt' } }, // fails: an error span, fed back to the model
      { tool: 'write_file', args: { path: 'traced.txt', content: WRITTEN } }, // needs alice's approval
      { tool: 'finish', args: { result: ANSWER }, usage: { prompt: 100, completion: 5 } },
    );
    const config = tracedConfig(false);
    const spec = harness.spec(agent, { input: PROMPT }, config);
    const answered = model.requests.length; // the mock numbers its tool calls by the requests it has had
    const callId = (n: number) => `call_${answered + n}`;
    const handle = await harness.launch(spec);
    await approveWhenAsked(spec.taskId);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: ANSWER });
    expect(model.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`); // the key was in play

    const trace = await traceOf(spec.taskId, config);
    const named = (name: string) => trace.filter((s) => s.name === name);
    // client start -> workflow -> activity scheduled -> activity run -> Steward's span, one trace
    const [start] = named('StartWorkflow:agentRun');
    expect(start!.parentSpanId).toBeUndefined();
    const [run] = named('RunWorkflow:agentRun');
    expect(parentOf(run!, trace)).toBe(start);
    const chats = named('chat mock-large');
    expect(chats).toHaveLength(3);
    for (const chat of chats) {
      const activity = parentOf(chat, trace);
      expect(activity.name).toBe('RunActivity:callModel');
      expect(parentOf(activity, trace).name).toBe('StartActivity:callModel');
      expect(parentOf(parentOf(activity, trace), trace)).toBe(run);
    }
    expect(new Set(chats.map((c) => c.attributes['steward.step'])).size).toBe(3);
    const last = chats.find((c) => c.attributes['gen_ai.usage.input_tokens'] === 100)!;
    expect(last.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'mock',
      'gen_ai.request.model': 'mock-large',
      'gen_ai.response.model': 'mock-large',
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 5,
      'steward.task.id': spec.taskId,
      'steward.route.id': 'primary',
      'steward.cost_usd': (100 * 1 + 5 * 2) / 1e6, // the route's price: $1 in, $2 out per million
    });
    expect(last.attributes['gen_ai.response.id']).toMatch(/^chatcmpl-/);
    expect(last.resource['service.name']).toBe('steward-traces-test');

    const [failed] = named('execute_tool read_file');
    expect(parentOf(failed!, trace).name).toBe('RunActivity:runTool');
    expect(failed!.status.code).toBe(2); // ERROR
    expect(failed!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'read_file',
      'gen_ai.tool.call.id': callId(1),
      'steward.policy.decision': 'allow',
      'steward.policy.rule_ids': ['default/read-allowed'],
      'error.type': expect.any(String),
      'steward.task.id': spec.taskId,
    });
    const [written] = named('execute_tool write_file');
    expect(written!.status.code).not.toBe(2);
    expect(written!.attributes).toMatchObject({
      'gen_ai.tool.name': 'write_file',
      'gen_ai.tool.call.id': callId(2),
      'steward.policy.decision': 'approve',
      'steward.policy.rule_ids': ['default/effects-need-approval'],
      'steward.approval.approved_by': ['alice'],
      'steward.approval.edited': false,
      'steward.tool.effect': 'write',
    });
    expect(Date.parse(written!.attributes['steward.approval.approved_at'] as string)).not.toBeNaN();

    // no prompt, answer, argument or output, and no key, anywhere in what was sent
    const contentKeys = [
      'gen_ai.input.messages',
      'gen_ai.output.messages',
      'gen_ai.tool.call.arguments',
      'gen_ai.tool.call.result',
    ];
    for (const span of trace) for (const key of contentKeys) expect(span.attributes[key]).toBeUndefined();
    const sent = receiver.bodies.join('\n');
    for (const content of [PROMPT, FILE_TEXT, WRITTEN, ANSWER, 'missing.txt', 'traced.txt'])
      expect(sent).not.toContain(content);
    expect(sent).not.toContain(SECRET);

    // a client that follows a task polls its state: those queries are not traced
    const telemetry = (await startTelemetry(config.telemetry))!;
    const traced = new Client({
      connection: harness.client.client.connection,
      interceptors: { workflow: telemetry.clientInterceptors },
    });
    await traced.workflow.getHandle(spec.taskId).query(stateQuery);
    await telemetry.flush();
    expect(receiver.spans.filter((s) => s.name.startsWith('QueryWorkflow'))).toEqual([]);
  });

  test('with includeContent the spans carry prompts, answers, arguments and outputs, with the API key scrubbed', async () => {
    // the key turns up in content (a file, the model's answer): it must not leave in a span
    harness.writeWorkspaceFile('keyed.txt', `${FILE_TEXT} ${SECRET}`);
    model.reply(
      { tool: 'read_file', args: { path: 'keyed.txt' } },
      { tool: 'finish', args: { result: `${ANSWER} ${SECRET}` } },
    );
    const config = tracedConfig(true);
    const spec = harness.spec(agent, { input: PROMPT }, config);
    const result = await (await harness.launch(spec)).result();
    expect(result.status).toBe('completed');

    const trace = await traceOf(spec.taskId, config);
    const chats = trace.filter((s) => s.name === 'chat mock-large');
    expect(chats).toHaveLength(2);
    const first = chats.find(
      (c) =>
        c.attributes['steward.step'] ===
        Math.min(...chats.map((s) => s.attributes['steward.step'] as number)),
    )!;
    const input = JSON.parse(first.attributes['gen_ai.input.messages'] as string) as {
      role: string;
      parts: { content?: string }[];
    }[];
    expect(input.find((m) => m.role === 'user')!.parts[0]!.content).toContain(PROMPT);
    expect(first.attributes['gen_ai.output.messages']).toContain('keyed.txt');
    const second = chats.find((c) => c !== first)!;
    expect(second.attributes['gen_ai.output.messages']).toContain(ANSWER);
    expect(second.attributes['gen_ai.output.messages']).toContain('[redacted]');
    const [tool] = trace.filter((s) => s.name === 'execute_tool read_file');
    expect(JSON.parse(tool!.attributes['gen_ai.tool.call.arguments'] as string)).toEqual({
      path: 'keyed.txt',
    });
    expect(tool!.attributes['gen_ai.tool.call.result']).toContain(FILE_TEXT);
    expect(tool!.attributes['gen_ai.tool.call.result']).toContain('[redacted]');
    expect(receiver.bodies.join('\n')).not.toContain(SECRET);
  });
});
