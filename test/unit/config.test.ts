import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load';

const ENV_KEYS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'STEWARD_DATA_DIR',
  'STEWARD_CONFIG',
  'STEWARD_USER',
] as const;
let savedEnv: Record<string, string | undefined>;
let dir: string;

beforeEach(() => {
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  dir = mkdtempSync(join(tmpdir(), 'steward-config-'));
});

afterEach(() => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, got none');
}

describe('parseConfig', () => {
  test('an empty config gets the defaults, with the embedded model as the only route', () => {
    process.env.STEWARD_USER = 'dana';
    const config = parseConfig({}, 'config', '/srv/steward');
    expect(config.temporal).toEqual({ address: undefined, namespace: 'default', taskQueue: 'steward' });
    expect(config.models).toEqual([
      expect.objectContaining({
        id: 'embedded',
        provider: 'embedded',
        trust: 'local',
        price: { inputPerMTok: 0, outputPerMTok: 0 },
      }),
    ]);
    expect(config.providers).toEqual({});
    expect(config.dataDir).toBe(resolve('/srv/steward', '.steward'));
    expect(config.tools).toEqual({ workspace: '/srv/steward/workspace', httpAllowlist: [] });
    expect(config.policy.approval).toMatchObject({
      approvers: ['dana'],
      quorum: 1,
      timeoutSeconds: 3600,
      onExpiry: 'stop',
    });
    expect(config.policy.rules).toEqual([]);
    expect(config.limits).toEqual({
      maxSteps: 20,
      budgetUsd: 1,
      deadlineSeconds: 3600,
      maxInvalidOutputs: 3,
      maxDenials: 3,
      maxOutputTokens: 256,
    });
    expect(config.computeNodes).toEqual([{ id: 'local', taskQueue: 'steward-node-local', trust: 'local' }]);
    expect(config.preference).toBe('cost');
  });

  test('null or undefined input is the same as an empty config', () => {
    expect(parseConfig(undefined).models[0]!.id).toBe('embedded');
    expect(parseConfig(null).models[0]!.id).toBe('embedded');
  });

  test('configured routes replace the embedded default', () => {
    const config = parseConfig({
      providers: {
        openai: {
          kind: 'openai-compatible',
          baseURL: 'https://api.openai.com/v1',
          apiKeyEnv: 'OPENAI_API_KEY',
        },
      },
      models: [
        {
          id: 'mini',
          provider: 'openai',
          model: 'gpt-4o-mini',
          price: { inputPerMTok: 0.15, outputPerMTok: 0.6 },
        },
      ],
    });
    expect(config.models).toEqual([
      {
        id: 'mini',
        provider: 'openai',
        model: 'gpt-4o-mini',
        trust: 'public',
        price: { inputPerMTok: 0.15, outputPerMTok: 0.6 },
      },
    ]);
  });

  test('a route may name the embedded provider without declaring it', () => {
    expect(() => parseConfig({ models: [{ id: 'e', provider: 'embedded', model: 'x' }] })).not.toThrow();
  });

  test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE override the file', () => {
    const input = { temporal: { address: 'file-host:7233', namespace: 'file-ns' } };
    expect(parseConfig(input).temporal).toMatchObject({ address: 'file-host:7233', namespace: 'file-ns' });
    process.env.TEMPORAL_ADDRESS = 'env-host:7233';
    process.env.TEMPORAL_NAMESPACE = 'env-ns';
    expect(parseConfig(input).temporal).toEqual({
      address: 'env-host:7233',
      namespace: 'env-ns',
      taskQueue: 'steward',
    });
  });

  test('STEWARD_DATA_DIR overrides dataDir, resolved against the base directory', () => {
    process.env.STEWARD_DATA_DIR = 'elsewhere';
    expect(parseConfig({ dataDir: 'data' }, 'config', '/base').dataDir).toBe('/base/elsewhere');
  });

  test('a bad field gets an error naming its path', () => {
    const err = errorOf(() =>
      parseConfig(
        {
          providers: { p: { kind: 'openai-compatible', baseURL: 'http://x' } },
          models: [{ id: 'r', provider: 'p', model: 'm', price: { inputPerMTok: 'free', outputPerMTok: 1 } }],
        },
        'steward.yaml',
      ),
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('steward.yaml is invalid');
    expect(err.message).toContain('models[0].price.inputPerMTok');
  });

  test('several bad fields are all named', () => {
    const err = errorOf(() =>
      parseConfig({ limits: { maxSteps: 0 }, preference: 'fastest', tools: { workspace: 3 } }),
    );
    expect(err.message).toMatch(/limits\.maxSteps/);
    expect(err.message).toMatch(/preference/);
    expect(err.message).toMatch(/tools\.workspace/);
  });

  test('an unknown field is refused', () => {
    const err = errorOf(() => parseConfig({ modles: [] }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/modles/);
  });

  test('a bad provider entry is named by its key', () => {
    const err = errorOf(() =>
      parseConfig({ providers: { local: { kind: 'openai-compatible', baseURL: 'not a url' } } }),
    );
    expect(err.message).toContain('providers.local.baseURL');
  });

  test('a route naming an unknown provider is refused', () => {
    const err = errorOf(() =>
      parseConfig({ models: [{ id: 'r1', provider: 'nowhere', model: 'm' }] }, 'steward.yaml'),
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/route r1 names provider nowhere/);
  });
});

describe('loadConfig', () => {
  test('loads a YAML file, resolving relative paths against its directory', () => {
    const file = join(dir, 'steward.yaml');
    writeFileSync(
      file,
      [
        'dataDir: state',
        'tools:',
        '  workspace: work',
        'providers:',
        '  local:',
        '    kind: openai-compatible',
        '    baseURL: http://127.0.0.1:11434/v1',
        'models:',
        '  - id: llama',
        '    provider: local',
        '    model: llama3.2',
        '    trust: local',
        'preference: privacy',
      ].join('\n'),
    );
    const config = loadConfig(file);
    expect(config.source).toBe(file);
    expect(config.dataDir).toBe(join(dir, 'state'));
    expect(config.tools.workspace).toBe(join(dir, 'work'));
    expect(config.models.map((m) => m.id)).toEqual(['llama']);
    expect(config.preference).toBe('privacy');
  });

  test('STEWARD_CONFIG names the file when no path is given', () => {
    const file = join(dir, 'other.yaml');
    writeFileSync(file, 'preference: latency\n');
    process.env.STEWARD_CONFIG = file;
    expect(loadConfig().preference).toBe('latency');
  });

  test('an explicit file that does not exist is an error naming it', () => {
    const file = join(dir, 'missing.yaml');
    const err = errorOf(() => loadConfig(file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(file);
  });

  test('invalid YAML gets an error naming the file', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'models: [1, 2\n  providers: {');
    const err = errorOf(() => loadConfig(file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/not valid YAML/);
  });

  test('a bad field in a file gets an error naming the file and the field', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'limits:\n  budgetUsd: -1\n');
    const err = errorOf(() => loadConfig(file));
    expect(err.message).toContain(`${file} is invalid`);
    expect(err.message).toContain('limits.budgetUsd');
  });
});

describe('approval settings that can never work are refused at start-up', () => {
  test('a quorum larger than the approver list', () => {
    expect(() => parseConfig({ policy: { approval: { approvers: ['alice'], quorum: 2 } } })).toThrow(
      /policy\.approval\.quorum: quorum 2 can never be met by 1 approvers/,
    );
  });

  test('escalation with nobody to escalate to', () => {
    expect(() => parseConfig({ policy: { approval: { onExpiry: 'escalate' } } })).toThrow(
      /policy\.approval\.escalateTo: onExpiry: escalate needs escalateTo/,
    );
  });
});
