import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { mcpServerSchema, type McpServerConfig } from '../../src/config/mcpSchema';
import { bwrapArgs, findBwrap } from '../../src/tools/sandbox';
import { ensureInstallKey, installKeyPath } from '../../src/stores/keys';
import { McpConnection, type McpInstall } from '../../src/tools/mcp/connection';

const REPO = resolve(__dirname, '../..');
const PROBE = join(REPO, 'test', 'support', 'mcpProbeServer.js');
const logger = pino({ level: 'silent' });

interface Attempt {
  ok: boolean;
  value?: string;
  error?: string;
}
interface ProbeResult {
  read: Record<string, Attempt>;
  exists: Record<string, boolean>;
  write: Record<string, Attempt>;
  env: string[];
  tcp?: Attempt;
}

let dir: string;
let install: Required<McpInstall>;
let scratch: string;
let listener: Server;
let worker: ChildProcess;
let port: number;
const opened: McpConnection[] = [];

/** The probe server's config entry, with its sandbox setting. */
function probeServer(sandbox?: unknown): McpServerConfig {
  return mcpServerSchema.parse({
    command: process.execPath,
    args: [PROBE],
    cwd: REPO,
    connectTimeoutSeconds: 20,
    ...(sandbox === undefined ? {} : { sandbox }),
  });
}

async function runProbe(config: McpServerConfig, args: Record<string, unknown>): Promise<ProbeResult> {
  const connection = new McpConnection('probe', config, install, logger);
  opened.push(connection);
  const result = await connection.call('probe', args, { signal: new AbortController().signal, meta: {} });
  return JSON.parse((result.content![0] as { text: string }).text) as ProbeResult;
}

/** What the hostile server tries: the install key, an audit file, the config, the .env, the worker's environment. */
function secrets() {
  return {
    key: installKeyPath(install.dataDir),
    audit: join(install.dataDir, 'audit', 'task-1.jsonl'),
    config: install.configFile,
    policy: install.policyFile,
    dotEnv: join(dir, '.env'),
    workerEnv: `/proc/${worker.pid}/environ`,
  };
}

beforeAll(async () => {
  listener = createServer((socket) => socket.end());
  await new Promise<void>((done) => listener.listen(0, '127.0.0.1', done));
  port = (listener.address() as AddressInfo).port;
  // a process of the worker's user holding a provider key, as the worker does
  worker = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], {
    env: { ...process.env, TEST_SANDBOX_PROVIDER_KEY: 'sk-provider-key-of-the-worker' },
    stdio: 'ignore',
  });
});
afterAll(() => {
  worker.kill();
  listener.close();
});

beforeEach(() => {
  dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'mcp-sandbox-'));
  install = {
    dataDir: join(dir, '.steward'),
    configFile: join(dir, 'steward.yaml'),
    policyFile: join(dir, 'policy.yaml'),
  };
  ensureInstallKey(install.dataDir);
  mkdirSync(join(install.dataDir, 'audit'));
  writeFileSync(join(install.dataDir, 'audit', 'task-1.jsonl'), '{"seq":1}\n');
  writeFileSync(install.configFile, 'dataDir: .steward\n');
  writeFileSync(install.policyFile, 'rules: []\n');
  writeFileSync(join(dir, '.env'), 'OPENAI_API_KEY=sk-in-dotenv\n');
  scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  process.env.TEST_SANDBOX_PROVIDER_KEY = 'sk-provider-key-of-the-worker';
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('a stdio MCP server runs under bubblewrap: it cannot see the install', () => {
  test('bwrap is installed here (CI installs it with apt)', () => {
    expect(findBwrap()).toBeDefined();
  });

  test('unconfined (sandbox: false), the same server reads the key, the audit, the config and the worker’s environment', async () => {
    const s = secrets();
    const seen = await runProbe(probeServer(false), {
      read: Object.values(s),
      write: [join(install.dataDir, 'planted')],
      port,
    });
    expect(seen.read[s.key]).toMatchObject({ ok: true, value: expect.stringContaining('privateKey') });
    expect(seen.read[s.audit]).toEqual({ ok: true, value: '{"seq":1}\n' });
    expect(seen.read[s.config]).toEqual({ ok: true, value: 'dataDir: .steward\n' });
    expect(seen.read[s.workerEnv]).toMatchObject({
      ok: true,
      value: expect.stringContaining('sk-provider-key-of-the-worker'),
    });
    expect(seen.write[join(install.dataDir, 'planted')]).toEqual({ ok: true });
    expect(existsSync(join(install.dataDir, 'planted'))).toBe(true);
    expect(seen.tcp).toEqual({ ok: true });
  });

  test('sandboxed (the default), every read and write of the data directory, config and environment fails', async () => {
    const s = secrets();
    const planted = [
      join(install.dataDir, 'planted'),
      join(install.dataDir, 'keys', 'install-ed25519.json'),
      join(install.dataDir, 'audit', 'task-1.jsonl'),
      install.configFile,
      join(REPO, 'planted-by-mcp'),
    ];
    const seen = await runProbe(probeServer(), {
      read: Object.values(s),
      exists: [s.key, s.audit, join(install.dataDir, 'audit')],
      write: planted,
      port,
    });
    for (const path of [s.key, s.audit]) expect(seen.read[path]).toEqual({ ok: false, error: 'ENOENT' });
    // its own /proc: the worker's processes are not there
    expect(seen.read[s.workerEnv]).toEqual({ ok: false, error: 'ENOENT' });
    // the config, policy and .env files are masked by /dev/null on a nodev mount: refused
    for (const path of [s.config, s.policy, s.dotEnv])
      expect(seen.read[path]).toEqual({ ok: false, error: 'EACCES' });
    expect(Object.values(seen.exists)).toEqual([false, false, false]);
    for (const path of planted) expect(seen.write[path]).toMatchObject({ ok: false });
    // nothing changed on the host
    expect(readFileSync(s.audit, 'utf8')).toBe('{"seq":1}\n');
    expect(readFileSync(install.configFile, 'utf8')).toBe('dataDir: .steward\n');
    expect(existsSync(join(install.dataDir, 'planted'))).toBe(false);
    expect(existsSync(join(REPO, 'planted-by-mcp'))).toBe(false);
    // no network by default: the worker's loopback is not its loopback
    expect(seen.tcp).toMatchObject({ ok: false });
    // its environment is what its config passes, with the SDK's few defaults: never the worker's keys
    expect(seen.env).not.toContain('TEST_SANDBOX_PROVIDER_KEY');
  });

  test('sandbox.writable paths can be written, sandbox.hide paths cannot be seen, network: true reaches the host', async () => {
    const hidden = join(dir, 'private');
    mkdirSync(hidden);
    writeFileSync(join(hidden, 'secret.txt'), 'secret');
    const seen = await runProbe(probeServer({ network: true, writable: [scratch], hide: [hidden] }), {
      read: [join(hidden, 'secret.txt')],
      write: [join(scratch, 'out.txt')],
      port,
    });
    expect(seen.write[join(scratch, 'out.txt')]).toEqual({ ok: true });
    expect(readFileSync(join(scratch, 'out.txt'), 'utf8')).toBe('planted');
    expect(seen.read[join(hidden, 'secret.txt')]).toMatchObject({ ok: false, error: 'ENOENT' });
    expect(seen.tcp).toEqual({ ok: true });
  });

  test('a writable path that holds the data directory is refused, by name', async () => {
    const connection = new McpConnection('probe', probeServer({ writable: [dir] }), install, logger);
    opened.push(connection);
    await expect(connection.connect()).rejects.toThrow(
      `sandbox.writable ${dir} overlaps ${install.dataDir}, which an untrusted process must not see`,
    );
  });

  test('without bwrap, an untrusted stdio server is refused with how to install it or declare it trusted', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-bwrap-here');
    try {
      const connection = new McpConnection('probe', probeServer(), install, logger);
      opened.push(connection);
      const refused = connection.connect();
      await expect(refused).rejects.toThrow('runs under bubblewrap, which is not installed');
      await expect(refused).rejects.toThrow('apt-get install bubblewrap');
      await expect(refused).rejects.toThrow('`sandbox: false` under mcpServers.probe');
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('bwrapArgs', () => {
  test('a hidden path inside another is masked with it; a cwd inside a hidden path is refused', () => {
    const spec = {
      command: process.execPath,
      args: [],
      network: false,
      writable: [],
      hidden: [REPO, join(REPO, 'package.json'), join(REPO, 'src')],
    };
    // the checkout (when it lives under /tmp) may be bound back first; then it is masked whole, once
    const args = bwrapArgs(spec).join(' ').replace(`--ro-bind ${REPO} ${REPO} `, '').split(' ');
    expect(args.filter((a) => a.startsWith(REPO))).toEqual([REPO, REPO]); // --tmpfs REPO --remount-ro REPO
    expect(() => bwrapArgs({ ...spec, cwd: join(REPO, 'src') })).toThrow(
      `cwd ${join(REPO, 'src')} is inside ${REPO}, which an untrusted process must not see`,
    );
  });
});
