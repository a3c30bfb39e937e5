import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installKeyPath } from '../../src/stores/keys';
import { runCli, stopAllCli, type CliEnv } from '../support/cliProcess';

/** `steward keys`: show only reads the install key; init makes it, once. */
describe('steward keys', () => {
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'keys-cli-'));
  const env: CliEnv = { config: join(dir, 'steward.yaml'), dataDir: join(dir, 'data'), cwd: dir };
  beforeAll(() => writeFileSync(env.config, 'dataDir: data\n'));
  afterAll(async () => {
    await stopAllCli();
    rmSync(dir, { recursive: true, force: true });
  });

  test('show with no key says there is none and how to make one, exits 1, and makes none', async () => {
    for (const args of [['keys', 'show'], ['keys']]) {
      const shown = await runCli(args, env);
      expect(shown.code).toBe(1);
      expect(shown.stderr).toContain('this install has no key yet');
      expect(shown.stderr).toContain('steward keys init');
      expect(shown.stdout).toBe('');
      expect(existsSync(installKeyPath(env.dataDir))).toBe(false);
    }
  });

  test('init makes the key; show then prints the same key; init again keeps it', async () => {
    const made = await runCli(['keys', 'init'], env);
    expect(made.code).toBe(0);
    expect(existsSync(installKeyPath(env.dataDir))).toBe(true);
    const keyLine = made.stdout.split('\n').find((l) => l.startsWith('public key:'));
    expect(keyLine).toMatch(/^public key: {2}[0-9a-f]{64}$/);
    const shown = await runCli(['keys', 'show'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(keyLine);
    expect((await runCli(['keys', 'init'], env)).stdout).toContain(keyLine);
  });
});
