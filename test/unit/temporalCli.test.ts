import { devServerArgs, TUNED_DYNAMIC_CONFIG } from '../../src/runtime/devServer';
import { ensureTemporalCli, findTemporalCli, TemporalCliMissing } from '../../src/runtime/temporalCli';
import { STEWARD_SEARCH_ATTRIBUTES } from '../../src/workflows/searchAttributes';

describe('finding the Temporal CLI', () => {
  const saved = { PATH: process.env.PATH, TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH };
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.TEMPORAL_CLI_PATH === undefined) delete process.env.TEMPORAL_CLI_PATH;
    else process.env.TEMPORAL_CLI_PATH = saved.TEMPORAL_CLI_PATH;
  });

  test('without a CLI and without Go, the error names the three ways out', async () => {
    delete process.env.TEMPORAL_CLI_PATH;
    process.env.PATH = '/nonexistent';
    expect(findTemporalCli()).toBeUndefined();
    const error = await ensureTemporalCli(() => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporalCliMissing);
    expect((error as Error).message).toMatch(/TEMPORAL_CLI_PATH/);
    expect((error as Error).message).toMatch(/install Go/);
    expect((error as Error).message).toMatch(/TEMPORAL_ADDRESS/);
  });

  test('TEMPORAL_CLI_PATH wins, and a path that does not exist is an error, not a silent fallback', () => {
    process.env.TEMPORAL_CLI_PATH = process.execPath;
    expect(findTemporalCli()).toBe(process.execPath);
    process.env.TEMPORAL_CLI_PATH = '/nonexistent/temporal';
    expect(() => findTemporalCli()).toThrow(/TEMPORAL_CLI_PATH=\/nonexistent\/temporal does not exist/);
  });
});

test('the dev server starts tuned, with Steward’s search attributes registered', () => {
  const args = devServerArgs({ cliPath: 'temporal', port: 7233, uiPort: 8233 }).join(' ');
  for (const [name, type] of Object.entries(STEWARD_SEARCH_ATTRIBUTES)) {
    expect(args).toContain(`--search-attribute ${name}=${type}`);
  }
  for (const [key, value] of Object.entries(TUNED_DYNAMIC_CONFIG)) {
    expect(args).toContain(`--dynamic-config-value ${key}=${value}`);
  }
  expect(args).toContain('--ui-port 8233');
});
