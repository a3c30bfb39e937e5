import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-mcp-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function load(mcpServers: unknown) {
  const file = join(dir, 'steward.yaml');
  writeFileSync(file, stringify({ mcpServers }));
  return loadConfig(file);
}

function refusal(mcpServers: unknown): string {
  try {
    load(mcpServers);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('mcpServers in steward.yaml', () => {
  test('a stdio server and an HTTP server get their defaults; cwd is relative to the config file', () => {
    const config = load({
      fs: { command: 'npx', args: ['-y', 'some-server'], cwd: 'docs', env: { TOKEN: 'FS_TOKEN' } },
      remote: { url: 'https://mcp.example.com/mcp', headers: { Authorization: 'REMOTE_AUTH' } },
    });
    expect(config.mcpServers.fs).toMatchObject({
      command: 'npx',
      cwd: join(dir, 'docs'),
      trusted: false,
      dataClass: 'internal',
      connectTimeoutSeconds: 15,
      acceptOnFirstUse: false,
    });
    expect(config.mcpServers.remote).toMatchObject({ url: 'https://mcp.example.com/mcp', trusted: false });
  });

  test('a malformed entry is refused with the file and the field named', () => {
    const file = join(dir, 'steward.yaml');
    const both = refusal({ fs: { command: 'x', url: 'https://a.example/mcp' } });
    expect(both).toBe(
      `${file} is invalid:\n  mcpServers.fs.command: give either command (stdio) or url (streamable HTTP)`,
    );
    expect(refusal({ fs: {} })).toContain('mcpServers.fs.command: give either command');
    expect(refusal({ fs: { comand: 'x' } })).toContain('mcpServers.fs: Unrecognized key: "comand"');
    expect(refusal({ web: { url: 'https://user:pw@a.example/mcp' } })).toContain(
      'mcpServers.web.url: credentials do not belong in the file',
    );
    expect(refusal({ web: { url: 'ftp://a.example' } })).toContain(
      'mcpServers.web.url: expected an http(s) URL',
    );
  });

  test('secrets are named, never written: a header or env value must be an environment variable name', () => {
    expect(
      refusal({ web: { url: 'https://a.example/mcp', headers: { Authorization: 'Bearer s3cret' } } }),
    ).toContain('mcpServers.web.headers.Authorization: expected an environment variable name');
    expect(refusal({ fs: { command: 'x', env: { TOKEN: 'abc-123' } } })).toContain(
      'mcpServers.fs.env.TOKEN: expected an environment variable name',
    );
    expect(refusal({ fs: { command: 'x', headers: { A: 'B' } } })).toContain(
      'mcpServers.fs.headers: headers are for an HTTP server (url)',
    );
  });

  test('names, overrides and bounds are checked', () => {
    expect(refusal({ my_fs: { command: 'x' } })).toContain('a server name is 1-32 letters, digits or -');
    expect(refusal({ fs: { command: 'x', tools: { read: { effect: 'harmless' } } } })).toContain(
      'mcpServers.fs.tools.read.effect',
    );
    expect(refusal({ fs: { command: 'x', connectTimeoutSeconds: 1e9 } })).toContain(
      'mcpServers.fs.connectTimeoutSeconds',
    );
    expect(refusal({ fs: { command: 'x', trust: 'everyone' } })).toContain('mcpServers.fs.trust');
  });
});
