import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { rename, symlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { builtinTools, type BuiltinToolOptions } from '../../src/tools/builtin';
import { ToolRegistry, type ToolContext } from '../../src/tools/registry';
import { failureOf } from '../support/failures';

let root: string;
let workspace: string;
let outside: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'steward-hardening-'));
  workspace = join(root, 'ws');
  outside = join(root, 'outside');
  mkdirSync(workspace);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
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

function tools(options: Partial<BuiltinToolOptions> = {}) {
  const registry = new ToolRegistry().register(...builtinTools({ workspace, httpAllowlist: [], ...options }));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (name: string, input: unknown, ctx = context()): Promise<any> => {
    const tool = registry.get(name)!;
    return tool.handler(tool.input.parse(input), ctx);
  };
}

/** Every file under a directory, recursively, relative to it. */
const filesUnder = (dir: string): string[] => (readdirSync(dir, { recursive: true }) as string[]).sort();

describe('read_file opens once and checks what it opened', () => {
  test('a symlink swapped in a loop between a file inside and one outside never yields the outside file', async () => {
    writeFileSync(join(workspace, 'inside.txt'), 'inside');
    const link = join(workspace, 'link.txt');
    symlinkSync(join(workspace, 'inside.txt'), link);
    let swaps = 0;
    const swapper = (async () => {
      for (; swaps < 200; swaps++) {
        const next = join(workspace, `.swap-${swaps}`);
        await symlink(swaps % 2 ? join(workspace, 'inside.txt') : join(outside, 'secret.txt'), next);
        await rename(next, link); // atomic: the link always exists, pointing one way or the other
      }
    })();
    const run = tools();
    const outcomes: string[] = [];
    while (swaps < 200 || outcomes.length < 40) {
      const batch = await Promise.all(
        Array.from({ length: 4 }, () =>
          run('read_file', { path: 'link.txt' }).then(
            (out: { text: string }) => out.text,
            (err: Error) => `refused: ${err.message}`,
          ),
        ),
      );
      outcomes.push(...batch);
    }
    await swapper;
    expect(outcomes.length).toBeGreaterThanOrEqual(40);
    expect(outcomes.filter((o) => o.includes('top secret'))).toEqual([]);
    for (const o of outcomes) expect(o).toMatch(/^(inside|refused: path link.txt is outside the workspace)$/);
  });

  test('a FIFO in the workspace is refused at once, not waited on', async () => {
    execFileSync('mkfifo', [join(workspace, 'pipe')]);
    symlinkSync('pipe', join(workspace, 'pipe-link'));
    const started = Date.now();
    for (const path of ['pipe', 'pipe-link']) {
      const err = await failureOf(tools()('read_file', { path }));
      expect(err.type).toBe('ToolRejected');
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toBe(`${path} is not a regular file`);
    }
    expect(Date.now() - started).toBeLessThan(2000);
  }, 5000);
});

describe('read size cap', () => {
  test('a 2 GB (sparse) file is refused by its size, naming the size and the cap, without reading it', async () => {
    writeFileSync(join(workspace, 'huge.bin'), '');
    truncateSync(join(workspace, 'huge.bin'), 2 * 1024 ** 3);
    const started = Date.now();
    const err = await failureOf(tools()('read_file', { path: 'huge.bin' }));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe(
      `huge.bin is ${2 * 1024 ** 3} bytes, over the 1048576-byte limit for reading a file`,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('maxFileBytes is the cap: a file of exactly the cap is read, one byte more is refused', async () => {
    writeFileSync(join(workspace, 'ten.txt'), '0123456789');
    writeFileSync(join(workspace, 'eleven.txt'), '0123456789a');
    const run = tools({ maxFileBytes: 10 });
    expect(await run('read_file', { path: 'ten.txt' })).toEqual({ path: 'ten.txt', text: '0123456789' });
    const err = await failureOf(run('read_file', { path: 'eleven.txt' }));
    expect(err.type).toBe('ToolRejected');
    expect(err.message).toMatch(/eleven.txt is 11 bytes, over the 10-byte limit/);
  });
});

describe('write_file writes only inside the workspace', () => {
  test('a symlink planted at the old, predictable temp name is not written through', async () => {
    const key = 'wf-9:5';
    const predictable = `${join(workspace, 'e.md')}.${createHash('sha256').update(key).digest('hex').slice(0, 12)}.tmp`;
    symlinkSync(join(outside, 'planted.txt'), predictable);
    await tools()('write_file', { path: 'e.md', content: 'whole file' }, context(key));
    expect(readFileSync(join(workspace, 'e.md'), 'utf8')).toBe('whole file');
    expect(readdirSync(outside)).toEqual(['secret.txt']);
  });

  test('a symlink at the target name is replaced, not written through', async () => {
    symlinkSync(join(outside, 'secret.txt'), join(workspace, 'target.md'));
    await tools()('write_file', { path: 'target.md', content: 'new' });
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('top secret');
    expect(readFileSync(join(workspace, 'target.md'), 'utf8')).toBe('new');
  });

  test('a directory symlink leading outside is refused, and no directory is created outside', async () => {
    symlinkSync(outside, join(workspace, 'out'));
    const run = tools();
    for (const path of ['out/x.md', 'out/new/deeper/x.md']) {
      const err = await failureOf(run('write_file', { path, content: 'pwned' }));
      expect(err.type).toBe('ToolRejected');
      expect(err.message).toBe(`path ${path} is outside the workspace`);
    }
    expect(filesUnder(outside)).toEqual(['secret.txt']);
  });

  test('symlinks planted under many names in the target directory are never written through', async () => {
    mkdirSync(join(workspace, 'docs'));
    for (let i = 0; i < 50; i++) {
      symlinkSync(join(outside, `planted-${i}`), join(workspace, 'docs', `.d.md.${i}.tmp`));
    }
    await tools()('write_file', { path: 'docs/d.md', content: 'safe' });
    expect(readFileSync(join(workspace, 'docs', 'd.md'), 'utf8')).toBe('safe');
    expect(readdirSync(outside)).toEqual(['secret.txt']);
  });

  test('a failed write (the target is a directory) leaves no temp file', async () => {
    mkdirSync(join(workspace, 'taken', 'inner'), { recursive: true });
    const err = await failureOf(tools()('write_file', { path: 'taken', content: 'x' }));
    expect(err.type).toBe('ToolRejected');
    expect(err.message).toMatch(/^taken is a directory/);
    expect(filesUnder(workspace)).toEqual(['taken', join('taken', 'inner')]);
  });
});

describe('protected paths are never visible', () => {
  beforeEach(() => {
    mkdirSync(join(workspace, '.steward'));
    writeFileSync(join(workspace, '.steward', 'temporal.db'), 'other tasks');
    writeFileSync(join(workspace, 'steward.yaml'), 'secrets: yes');
    writeFileSync(join(workspace, 'notes.md'), 'notes');
    symlinkSync('.steward', join(workspace, 'alias'));
  });

  const run = () => tools({ protectedPaths: [join(workspace, '.steward'), 'steward.yaml'] });

  test.each([
    ['read_file', { path: '.steward/temporal.db' }],
    ['read_file', { path: 'alias/temporal.db' }],
    ['read_file', { path: 'steward.yaml' }],
    ['read_file', { path: './sub/../steward.yaml' }],
    ['list_files', { dir: '.steward' }],
    ['list_files', { dir: 'alias' }],
    ['write_file', { path: '.steward/temporal.db', content: 'x' }],
    ['write_file', { path: 'alias/new/x.md', content: 'x' }],
    ['write_file', { path: 'steward.yaml', content: 'x' }],
  ])('%s %j is refused', async (name, input) => {
    const err = await failureOf(run()(name, input));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/Steward's data directory .* never visible to tools/);
    expect(readFileSync(join(workspace, '.steward', 'temporal.db'), 'utf8')).toBe('other tasks');
    expect(readdirSync(join(workspace, '.steward'))).toEqual(['temporal.db']);
    expect(readFileSync(join(workspace, 'steward.yaml'), 'utf8')).toBe('secrets: yes');
  });

  test('a protected directory that does not exist yet is not created by a write', async () => {
    const err = await failureOf(
      tools({ protectedPaths: ['data'] })('write_file', { path: 'data/x.md', content: 'x' }),
    );
    expect(err.type).toBe('ToolRejected');
    expect(existsSync(join(workspace, 'data'))).toBe(false);
  });

  test('list_files leaves protected files out', async () => {
    expect(await run()('list_files', {})).toEqual({ files: ['notes.md'] });
  });
});

describe('errors a retry cannot fix are refusals naming the path, not the disk layout', () => {
  test.each([
    ['EISDIR', 'read_file', { path: 'adir' }, 'adir is a directory'],
    [
      'ENAMETOOLONG',
      'read_file',
      { path: 'n'.repeat(300) },
      `${'n'.repeat(200)}… is too long a name (ENAMETOOLONG)`,
    ],
    [
      'ENOTDIR',
      'read_file',
      { path: 'a.txt/b.txt' },
      'a.txt/b.txt has a part that is not a directory (ENOTDIR)',
    ],
    ['ELOOP', 'read_file', { path: 'loop1' }, 'loop1 goes through too many symbolic links (ELOOP)'],
    ['ENOENT', 'read_file', { path: 'missing.txt' }, 'missing.txt does not exist (ENOENT)'],
    ['ENOTDIR', 'list_files', { dir: 'a.txt' }, 'a.txt has a part that is not a directory (ENOTDIR)'],
    [
      'ENOTDIR',
      'write_file',
      { path: 'a.txt/b.txt', content: '' },
      /^a.txt\/b.txt (has a part that is not a directory|already exists)/,
    ],
    ['ENAMETOOLONG', 'write_file', { path: 'n'.repeat(300), content: '' }, /too long a name/],
  ])('%s from %s', async (_code, name, input, message) => {
    mkdirSync(join(workspace, 'adir'));
    writeFileSync(join(workspace, 'a.txt'), 'a');
    symlinkSync('loop2', join(workspace, 'loop1'));
    symlinkSync('loop1', join(workspace, 'loop2'));
    const err = await failureOf(tools()(name, input));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
    expect(err.message).not.toContain(root);
    expect(filesUnder(workspace)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
  });
});

describe('http_post', () => {
  interface Hook {
    url: string;
    requests: { url: string; headers: IncomingMessage['headers']; body: string }[];
    close(): Promise<void>;
  }

  async function hook(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<Hook> {
    const requests: Hook['requests'] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        requests.push({ url: req.url ?? '', headers: req.headers, body });
        answer(req, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      requests,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  }

  test.each([301, 302, 303, 307, 308])(
    'a %s redirect to another origin is refused and the other origin gets nothing',
    async (status) => {
      const elsewhere = await hook((_req, res) => res.writeHead(200).end('{"got":"it"}'));
      const allowed = await hook((_req, res) =>
        res.writeHead(status, { location: `${elsewhere.url}/collect` }).end(),
      );
      try {
        const err = await failureOf(
          tools({ httpAllowlist: [allowed.url] })('http_post', {
            url: `${allowed.url}/hook`,
            body: { a: 1 },
          }),
        );
        expect(err.type).toBe('ToolRejected');
        expect(err.nonRetryable).toBe(true);
        expect(err.message).toContain(`answered ${status} redirecting to ${elsewhere.url}/collect`);
        expect(allowed.requests).toHaveLength(1);
        expect(elsewhere.requests).toHaveLength(0);
      } finally {
        await Promise.all([allowed.close(), elsewhere.close()]);
      }
    },
  );

  test('an answer streaming past maxResponseBytes is cut off and refused without a retry', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    let finished = false;
    const server = await hook((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = () => {
        while (sent < 50 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        finished = true;
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    try {
      const err = await failureOf(
        tools({ httpAllowlist: [server.url], maxResponseBytes: 256 * 1024 })('http_post', {
          url: `${server.url}/big`,
          body: {},
        }),
      );
      expect(err.type).toBe('ToolRejected');
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(/was made, but its answer is over the 262144-byte limit/);
      expect(server.requests).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(finished).toBe(false); // the connection was dropped, not drained
      expect(sent).toBeLessThan(50 * 1024 * 1024);
    } finally {
      await server.close();
    }
  });

  test('the default cap is 1 MiB, also when the answer declares its length', async () => {
    const server = await hook((_req, res) => res.writeHead(200).end(Buffer.alloc(1024 * 1024 + 1, 'y')));
    try {
      const err = await failureOf(
        tools({ httpAllowlist: [server.url] })('http_post', { url: server.url, body: {} }),
      );
      expect(err.type).toBe('ToolRejected');
      expect(err.message).toMatch(/over the 1048576-byte limit/);
    } finally {
      await server.close();
    }
  });

  test('an answer of exactly maxResponseBytes is kept', async () => {
    const server = await hook((_req, res) => res.writeHead(200).end(`"${'z'.repeat(98)}"`));
    try {
      const out = await tools({ httpAllowlist: [server.url], maxResponseBytes: 100 })('http_post', {
        url: server.url,
        body: {},
      });
      expect(out).toEqual({ status: 200, body: 'z'.repeat(98) });
    } finally {
      await server.close();
    }
  });
});

describe('the allowlist is checked when the tools are built', () => {
  test.each([
    ['not a url', /"not a url" is not a URL/],
    ['ftp://files.example.com/', /is not an http\(s\) URL/],
    [
      'https://user:hunter2@hooks.example.com/x',
      /"https:\/\/\*\*\*@hooks.example.com\/x" carries credentials/,
    ],
    [
      'https://hooks.example.com/x?token=1',
      /"https:\/\/hooks.example.com\/x\?token=1" has a query or a fragment/,
    ],
    ['https://hooks.example.com/x#frag', /has a query or a fragment/],
  ])('%s is refused, naming the entry', (entry, message) => {
    expect(() => builtinTools({ workspace, httpAllowlist: ['https://ok.example.com/', entry] })).toThrow(
      message,
    );
    expect(() => builtinTools({ workspace, httpAllowlist: [entry] })).not.toThrow(/hunter2/);
  });

  test('valid entries pass', () => {
    expect(() =>
      builtinTools({
        workspace,
        httpAllowlist: ['https://hooks.example.com/steward/', 'http://127.0.0.1:8080'],
      }),
    ).not.toThrow();
  });
});
