import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'steward-mcp-sandbox-config-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function load(config: Record<string, unknown>) {
  const file = join(dir, 'steward.yaml');
  writeFileSync(file, stringify(config));
  return loadConfig(file);
}

function refusal(config: Record<string, unknown>): string {
  try {
    load(config);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('mcpServers.<name>.sandbox in steward.yaml', () => {
  test('absent, false, or { network, writable, hide } with absolute paths', () => {
    const config = load({
      mcpServers: {
        plain: { command: 'x' },
        open: { command: 'x', sandbox: false },
        api: { command: 'x', sandbox: { network: true, writable: ['/srv/notes'], hide: ['/home/me/.ssh'] } },
        quiet: { command: 'x', sandbox: {} },
      },
    });
    expect(config.mcpServers.plain!.sandbox).toBeUndefined();
    expect(config.mcpServers.open!.sandbox).toBe(false);
    expect(config.mcpServers.api!.sandbox).toEqual({
      network: true,
      writable: ['/srv/notes'],
      hide: ['/home/me/.ssh'],
    });
    expect(config.mcpServers.quiet!.sandbox).toEqual({ network: false, writable: [], hide: [] });
  });

  test('a bad sandbox is refused naming the field', () => {
    const server = (sandbox: unknown) => ({ mcpServers: { fs: { command: 'x', sandbox } } });
    expect(refusal(server({ network: 'yes' }))).toContain(
      'mcpServers.fs.sandbox: network: Invalid input: expected boolean, received string',
    );
    expect(refusal(server(true))).toContain(
      'mcpServers.fs.sandbox: expected false (run unconfined) or { network?, writable?, hide? }',
    );
    expect(refusal(server({ net: true }))).toContain('mcpServers.fs.sandbox: Unrecognized key: "net"');
    expect(refusal(server({ writable: ['notes'] }))).toContain(
      'mcpServers.fs.sandbox.writable[0]: expected an absolute path',
    );
    expect(refusal({ mcpServers: { web: { url: 'https://a.example/mcp', sandbox: false } } })).toContain(
      'mcpServers.web.sandbox: sandbox is for a stdio server (command)',
    );
  });

  test('an MCP server may not be handed a provider’s API key', () => {
    const message = refusal({
      providers: {
        openai: {
          kind: 'openai-compatible',
          baseURL: 'https://api.openai.com/v1',
          apiKeyEnv: 'OPENAI_API_KEY',
        },
      },
      mcpServers: { fs: { command: 'x', env: { KEY: 'OPENAI_API_KEY' } } },
    });
    expect(message).toContain(
      "mcpServers.fs.env.KEY: reads OPENAI_API_KEY, the API key of provider openai: an MCP server is never given a provider's key",
    );
  });
});
