import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { builtinTools } from '../../src/tools/builtin';
import { defineTool, jsonSchemaOf, ToolRegistry, type ToolContext } from '../../src/tools/registry';
import { failureOf } from '../support/failures';

let root: string;
let workspace: string;
let outside: string;

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
let server: Server;
let base: string;
const received: Received[] = [];
/** Status and body the test server answers with, by path. */
const answers: Record<string, { status: number; body: string }> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body });
      const answer = answers[req.url ?? ''] ?? { status: 200, body: '{"ok":true}' };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'steward-tools-'));
  workspace = join(root, 'ws');
  outside = join(root, 'outside');
  mkdirSync(workspace);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
  received.length = 0;
  for (const k of Object.keys(answers)) delete answers[k];
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function context(idempotencyKey = 'wf-1:3'): ToolContext {
  return {
    idempotencyKey,
    taskId: 'wf-1',
    step: 3,
    signal: new AbortController().signal,
    heartbeat: () => undefined,
    logger: pino({ level: 'silent' }),
  };
}

function tools(httpAllowlist: string[] = []) {
  const registry = new ToolRegistry().register(...builtinTools({ workspace, httpAllowlist }));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (name: string, input: unknown, ctx = context()): Promise<any> => {
    const tool = registry.get(name)!;
    return tool.handler(tool.input.parse(input), ctx);
  };
}

describe('file tools stay inside the workspace', () => {
  test('read_file reads a workspace file', async () => {
    writeFileSync(join(workspace, 'a.txt'), 'héllo');
    expect(await tools()('read_file', { path: 'a.txt' })).toEqual({ path: 'a.txt', text: 'héllo' });
  });

  test.each(['../outside/secret.txt', '/etc/passwd', 'sub/../../outside/secret.txt', '..'])(
    'read_file refuses %s as ToolRejected, non-retryable',
    async (path) => {
      const err = await failureOf(tools()('read_file', { path }));
      expect(err.type).toBe('ToolRejected');
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(/outside the workspace/);
    },
  );

  test('read_file of a missing file is ToolRejected', async () => {
    const err = await failureOf(tools()('read_file', { path: 'nope.txt' }));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
  });

  test('a workspace whose name is a prefix of a sibling does not reach the sibling', async () => {
    mkdirSync(join(root, 'ws-evil'));
    writeFileSync(join(root, 'ws-evil', 'x.txt'), 'x');
    const err = await failureOf(tools()('read_file', { path: '../ws-evil/x.txt' }));
    expect(err.type).toBe('ToolRejected');
  });

  test('read_file does not follow a symlink out of the workspace', async () => {
    symlinkSync(join(outside, 'secret.txt'), join(workspace, 'link.txt'));
    const err = await failureOf(tools()('read_file', { path: 'link.txt' }));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
  });

  test('list_files lists files (not directories) relative to the workspace, sorted', async () => {
    mkdirSync(join(workspace, 'sub'));
    writeFileSync(join(workspace, 'b.txt'), '');
    writeFileSync(join(workspace, 'a.txt'), '');
    writeFileSync(join(workspace, 'sub', 'c.txt'), '');
    const run = tools();
    expect(await run('list_files', {})).toEqual({ files: ['a.txt', 'b.txt'] });
    expect(await run('list_files', { dir: 'sub' })).toEqual({ files: [join('sub', 'c.txt')] });
  });

  test.each(['..', '../outside', '/'])(
    'list_files refuses %s as ToolRejected, non-retryable',
    async (dir) => {
      const err = await failureOf(tools()('list_files', { dir }));
      expect(err.type).toBe('ToolRejected');
      expect(err.nonRetryable).toBe(true);
    },
  );

  test.each(['../outside/x.txt', '/tmp/steward-escape.txt', 'a/../../escape.txt'])(
    'write_file refuses %s and writes nothing',
    async (path) => {
      const err = await failureOf(tools()('write_file', { path, content: 'pwned' }));
      expect(err.type).toBe('ToolRejected');
      expect(err.nonRetryable).toBe(true);
      expect(readdirSync(outside)).toEqual(['secret.txt']);
      expect(readdirSync(root).sort()).toEqual(['outside', 'ws']);
    },
  );
});

describe('write_file', () => {
  test('writes the file (creating directories) and reports its size and sha256', async () => {
    const content = 'digest ✓\n';
    const out = await tools()('write_file', { path: 'out/digest.md', content });
    expect(out).toEqual({
      path: 'out/digest.md',
      bytes: Buffer.byteLength(content),
      sha256: createHash('sha256').update(content).digest('hex'),
    });
    expect(readFileSync(join(workspace, 'out', 'digest.md'), 'utf8')).toBe(content);
  });

  test('repeating a write with the same idempotency key gives the same file and result, and leaves no temp files', async () => {
    const run = tools();
    const first = await run('write_file', { path: 'd.md', content: 'same' }, context('wf-9:4'));
    const second = await run('write_file', { path: 'd.md', content: 'same' }, context('wf-9:4'));
    expect(second).toEqual(first);
    expect(readFileSync(join(workspace, 'd.md'), 'utf8')).toBe('same');
    expect(readdirSync(workspace)).toEqual(['d.md']);
  });

  test('a retry after a crash that left a temp file behind still writes the file, and adds no temp file', async () => {
    const run = tools();
    const key = 'wf-9:5';
    // What a crashed attempt left behind (temp names are random, so it is never reused or written through).
    writeFileSync(join(workspace, '.e.md.0123456789abcdef.tmp'), 'half of a');
    await run('write_file', { path: 'e.md', content: 'whole file' }, context(key));
    expect(readFileSync(join(workspace, 'e.md'), 'utf8')).toBe('whole file');
    expect(readdirSync(workspace).sort()).toEqual(['.e.md.0123456789abcdef.tmp', 'e.md']);
  });

  test('is atomic: a reader sees the old file or the new one, never part of one', async () => {
    const run = tools();
    const path = join(workspace, 'big.txt');
    const oldContent = 'o'.repeat(2_000_000);
    const newContent = 'n'.repeat(3_000_000);
    writeFileSync(path, oldContent);
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const text = readFileSync(path, 'utf8');
        seen.add(text === oldContent ? 'old' : text === newContent ? 'new' : `partial:${text.length}`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    await run('write_file', { path: 'big.txt', content: newContent });
    writing = false;
    await reader;
    expect([...seen].filter((s) => s.startsWith('partial'))).toEqual([]);
    expect(readFileSync(path, 'utf8')).toBe(newContent);
  });
});

describe('http_post against a real local server', () => {
  test('posts the JSON body with the Idempotency-Key header and returns the parsed answer', async () => {
    answers['/hook'] = { status: 201, body: '{"id":42}' };
    const out = await tools([base])('http_post', { url: `${base}/hook`, body: { a: 1 } }, context('wf-7:2'));
    expect(out).toEqual({ status: 201, body: { id: 42 } });
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['idempotency-key']).toBe('wf-7:2');
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received[0]!.body)).toEqual({ a: 1 });
  });

  test('a non-JSON answer is kept as text', async () => {
    answers['/text'] = { status: 200, body: 'plain' };
    expect(await tools([base])('http_post', { url: `${base}/text`, body: {} })).toEqual({
      status: 200,
      body: 'plain',
    });
  });

  test('a URL outside the allowlist is refused (ToolRejected, non-retryable) and nothing is sent', async () => {
    const err = await failureOf(tools([`${base}/allowed`])('http_post', { url: `${base}/other`, body: {} }));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/httpAllowlist/);
    const none = await failureOf(tools([])('http_post', { url: `${base}/allowed`, body: {} }));
    expect(none.type).toBe('ToolRejected');
    expect(received).toHaveLength(0);
  });

  test('dot segments cannot climb out of an allowed path prefix', async () => {
    const err = await failureOf(
      tools([`${base}/allowed/`])('http_post', { url: `${base}/allowed/../admin`, body: {} }),
    );
    expect(err.type).toBe('ToolRejected');
    expect(received.map((r) => r.url)).toEqual([]);
  });

  test('503 is a retryable ToolFailed', async () => {
    answers['/busy'] = { status: 503, body: 'try later' };
    const err = await failureOf(tools([base])('http_post', { url: `${base}/busy`, body: {} }));
    expect(err.type).toBe('ToolFailed');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toMatch(/503/);
  });

  test('400 is a non-retryable ToolRejected', async () => {
    answers['/bad'] = { status: 400, body: '{"error":"bad"}' };
    const err = await failureOf(tools([base])('http_post', { url: `${base}/bad`, body: {} }));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/400/);
  });

  test('429 and 408 are retryable', async () => {
    answers['/rate'] = { status: 429, body: '' };
    answers['/slow'] = { status: 408, body: '' };
    for (const path of ['/rate', '/slow']) {
      const err = await failureOf(tools([base])('http_post', { url: `${base}${path}`, body: {} }));
      expect({ path, type: err.type, nonRetryable: err.nonRetryable }).toEqual({
        path,
        type: 'ToolFailed',
        nonRetryable: false,
      });
    }
  });

  test('a refused connection is a retryable ToolFailed', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await failureOf(tools([url])('http_post', { url: `${url}/x`, body: {} }));
    expect(err.type).toBe('ToolFailed');
    expect(err.nonRetryable).toBe(false);
  });
});

describe('text_stats', () => {
  test('counts words, lines and characters', async () => {
    const out = await tools()('text_stats', { text: 'Alpha beta\nalpha gamma alpha' });
    expect(out).toEqual({ words: 5, lines: 2, chars: 28, topWords: ['alpha', 'beta', 'gamma'] });
  });
});

describe('ToolRegistry', () => {
  test('describe() gives plain descriptors with JSON Schema (no $schema) in the order asked', () => {
    const registry = new ToolRegistry().register(...builtinTools({ workspace: '/w', httpAllowlist: [] }));
    const described = registry.describe(['write_file', 'read_file', 'text_stats']);
    expect(described.map((d) => d.name)).toEqual(['write_file', 'read_file', 'text_stats']);
    for (const d of described) {
      expect(d.inputSchema).not.toHaveProperty('$schema');
      expect(d.inputSchema).toMatchObject({ type: 'object' });
      expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    }
    expect(described[0]).toMatchObject({ effect: 'write', dataClass: 'internal', placement: 'worker' });
    expect(described[1]!.inputSchema).toMatchObject({
      type: 'object',
      properties: { path: { type: 'string', minLength: 1 } },
      required: ['path'],
      additionalProperties: false,
    });
    expect(described[2]!.placement).toBe('compute');
  });

  test('input schemas describe what callers send (a defaulted field is optional)', () => {
    const registry = new ToolRegistry().register(...builtinTools({ workspace: '/w', httpAllowlist: [] }));
    const [list] = registry.describe(['list_files']);
    expect(list!.inputSchema.required ?? []).not.toContain('dir');
  });

  test('jsonSchemaOf drops $schema', () => {
    expect(jsonSchemaOf(z.object({ a: z.number() }))).not.toHaveProperty('$schema');
  });

  test('an unknown tool name and a duplicate registration are errors', () => {
    const echo = defineTool({
      name: 'echo',
      description: 'echo',
      effect: 'read',
      dataClass: 'public',
      input: z.object({ x: z.string() }),
      output: z.object({ x: z.string() }),
      handler: async ({ x }) => ({ x }),
    });
    const registry = new ToolRegistry().register(echo);
    expect(() => registry.describe(['echo', 'nope'])).toThrow(/unknown tool nope/);
    expect(() => registry.register(echo)).toThrow(/registered twice/);
    expect(registry.names()).toEqual(['echo']);
  });
});

describe('a tool that declares it may run as a local activity', () => {
  const tool = (over: Partial<Parameters<typeof defineTool>[0]>) =>
    defineTool({
      name: 'peek',
      description: 'a short read',
      effect: 'read',
      dataClass: 'public',
      input: z.object({}),
      output: z.object({}),
      handler: async () => ({}),
      ...over,
    });

  test('a short read may: its descriptor says so, and its definition hash does not change', () => {
    const local = new ToolRegistry().register(tool({ local: { timeoutSeconds: 5 } })).describe(['peek'])[0]!;
    const plain = new ToolRegistry().register(tool({})).describe(['peek'])[0]!;
    expect(local.local).toEqual({ timeoutSeconds: 5 });
    expect(plain.local).toBeUndefined();
    expect(local.definitionHash).toBe(plain.definitionHash);
  });

  test.each([
    [{ effect: 'write' as const }, /only a read may run locally/],
    [{ placement: 'compute' as const }, /runs on compute nodes/],
    [{ timeoutSeconds: 31 }, /at most 30/],
    [{ timeoutSeconds: 0 }, /above 0/],
  ])('%j may not: registering it is refused', (over, problem) => {
    const { timeoutSeconds = 5, ...rest } = over as { timeoutSeconds?: number };
    expect(() => new ToolRegistry().register(tool({ ...rest, local: { timeoutSeconds } }))).toThrow(problem);
  });
});
