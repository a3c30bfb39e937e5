import { ConfigError, parseConfig } from '../../src/config/load';
import { configSchema, limitsNarrowingSchema, limitsSchema } from '../../src/config/schema';

/** Config that cannot work is refused at start-up, with an error naming the path. */

const provider = { kind: 'openai-compatible', baseURL: 'http://127.0.0.1:11434/v1' };

function refusal(input: unknown): string {
  try {
    parseConfig(input, 'steward.yaml', '/srv/steward');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('every number has a sane upper bound', () => {
  test.each([
    [{ limits: { deadlineSeconds: 1e13 } }, 'limits.deadlineSeconds'],
    [{ limits: { maxSteps: 10_001 } }, 'limits.maxSteps'],
    [{ limits: { budgetUsd: 1_000_001 } }, 'limits.budgetUsd'],
    [{ limits: { maxOutputTokens: 1_000_001 } }, 'limits.maxOutputTokens'],
    [{ limits: { stepsPerRun: 1e9 } }, 'limits.stepsPerRun'],
    [{ limits: { maxInvalidOutputs: 1e9 } }, 'limits.maxInvalidOutputs'],
    [{ limits: { maxDenials: 1e9 } }, 'limits.maxDenials'],
    [{ limits: { budgetUsd: Infinity } }, 'limits.budgetUsd'],
    [{ limits: { deadlineSeconds: NaN } }, 'limits.deadlineSeconds'],
    [{ policy: { approval: { timeoutSeconds: 1e13 } } }, 'policy.approval.timeoutSeconds'],
    [
      { policy: { approval: { escalationTimeoutSeconds: 31 * 86_400 } } },
      'policy.approval.escalationTimeoutSeconds',
    ],
    [{ providers: { p: { ...provider, timeoutMs: 1e12 } } }, 'providers.p.timeoutMs'],
    [{ providers: { e: { kind: 'embedded', threads: 1e6 } } }, 'providers.e.threads'],
    [{ providers: { e: { kind: 'embedded', contextSize: 1e12 } } }, 'providers.e.contextSize'],
    [
      {
        providers: { p: provider },
        models: [{ id: 'r', provider: 'p', model: 'm', price: { inputPerMTok: 1e9, outputPerMTok: 1 } }],
      },
      'models[0].price.inputPerMTok',
    ],
    [
      { providers: { p: provider }, models: [{ id: 'r', provider: 'p', model: 'm', latencyMs: 1e12 }] },
      'models[0].latencyMs',
    ],
    [
      { computeNodes: [{ id: 'n', taskQueue: 'q', pickupTimeoutSeconds: 1e12 }] },
      'computeNodes[0].pickupTimeoutSeconds',
    ],
    [{ computeNodes: [{ id: 'n', taskQueue: 'q', pricePerJobUsd: 1e12 }] }, 'computeNodes[0].pricePerJobUsd'],
  ])('%j is refused at %s', (input, path) => {
    expect(refusal(input)).toContain(`  ${path}: `);
  });

  test('the largest sane values are accepted (a 30-day deadline)', () => {
    const config = parseConfig({
      limits: {
        deadlineSeconds: 30 * 86_400,
        maxSteps: 10_000,
        budgetUsd: 1_000_000,
        maxOutputTokens: 1_000_000,
      },
    });
    expect(config.limits.deadlineSeconds).toBe(2_592_000);
    // what made the state query throw: a deadline that is no valid Date
    expect(new Date(Date.now() + config.limits.deadlineSeconds * 1000).toISOString()).toMatch(/Z$/);
  });
});

describe('URLs', () => {
  test.each(['ftp://example.com/v1', 'file:///etc/passwd', 'not a url'])(
    'baseURL %s is refused',
    (baseURL) => {
      expect(refusal({ providers: { p: { ...provider, baseURL } } })).toContain('providers.p.baseURL: ');
    },
  );

  test('an https baseURL is accepted', () => {
    expect(
      parseConfig({ providers: { p: { ...provider, baseURL: 'https://api.openai.com/v1' } } }).providers.p,
    ).toMatchObject({
      baseURL: 'https://api.openai.com/v1',
    });
  });

  test.each([
    ['not a URL', 'example.com/hooks', /http\(s\) URL/],
    ['another scheme', 'ftp://example.com/', /http\(s\) URL/],
    ['credentials', 'https://user:hunter2@example.com/', /credentials/],
    ['a query', 'https://example.com/hooks?token=1', /query or a fragment/],
    ['a fragment', 'https://example.com/hooks#x', /query or a fragment/],
    ['an empty query', 'https://example.com/hooks?', /query or a fragment/],
  ])('an allowlist entry with %s is refused, naming its index', (_, entry, why) => {
    const message = refusal({ tools: { httpAllowlist: ['https://ok.example.com/', entry] } });
    expect(message).toContain('tools.httpAllowlist[1]: ');
    expect(message).toMatch(why);
    expect(message).not.toContain('hunter2'); // the entry is not echoed
  });

  test('origins and path prefixes are accepted', () => {
    const allowlist = [
      'http://127.0.0.1',
      'https://hooks.example.com/',
      'https://api.example.com:8443/v2/items',
    ];
    expect(parseConfig({ tools: { httpAllowlist: allowlist } }).tools.httpAllowlist).toEqual(allowlist);
  });
});

describe('approval quorum can be met by every list it applies to', () => {
  test('without approvers the default approver is one person: quorum 2 is refused', () => {
    expect(refusal({ policy: { approval: { quorum: 2 } } })).toContain(
      "policy.approval.quorum: quorum 2 can never be met by the default approver (the task's principal)",
    );
  });

  test('quorum above the approvers is still refused with the known message', () => {
    expect(refusal({ policy: { approval: { approvers: ['alice'], quorum: 2 } } })).toContain(
      'policy.approval.quorum: quorum 2 can never be met by 1 approvers',
    );
  });

  test('quorum above escalateTo is refused (an escalation hands the same quorum to escalateTo)', () => {
    expect(
      refusal({
        policy: {
          approval: { approvers: ['alice', 'bob'], quorum: 2, onExpiry: 'escalate', escalateTo: ['carol'] },
        },
      }),
    ).toContain('policy.approval.quorum: quorum 2 can never be met by the 1 approvers in escalateTo');
  });

  test('a quorum every list can meet is accepted', () => {
    const config = parseConfig({
      policy: {
        approval: {
          approvers: ['alice', 'bob'],
          quorum: 2,
          onExpiry: 'escalate',
          escalateTo: ['carol', 'dan'],
        },
      },
    });
    expect(config.policy.approval.quorum).toBe(2);
  });
});

describe('duplicates are refused, naming the later entry', () => {
  test.each([
    [
      { policy: { approval: { approvers: ['alice', 'bob', 'alice'] } } },
      'policy.approval.approvers[2]',
      'approver alice',
    ],
    [
      { policy: { approval: { onExpiry: 'escalate', escalateTo: ['carol', 'carol'] } } },
      'policy.approval.escalateTo[1]',
      'escalateTo entry carol',
    ],
    [
      {
        providers: { p: provider },
        models: [
          { id: 'r', provider: 'p', model: 'a' },
          { id: 'r', provider: 'p', model: 'b' },
        ],
      },
      'models[1].id',
      'model route id r',
    ],
    [
      {
        computeNodes: [
          { id: 'n', taskQueue: 'q1' },
          { id: 'n', taskQueue: 'q2' },
        ],
      },
      'computeNodes[1].id',
      'compute node id n',
    ],
    [
      {
        computeNodes: [
          { id: 'n1', taskQueue: 'q' },
          { id: 'n2', taskQueue: 'q' },
        ],
      },
      'computeNodes[1].taskQueue',
      'compute node task queue q',
    ],
    [
      {
        policy: {
          rules: [
            { id: 'x', decision: 'allow' },
            { id: 'x', decision: 'deny' },
          ],
        },
      },
      'policy.rules[1].id',
      'rule id x',
    ],
  ])('%j is refused at %s', (input, path, what) => {
    expect(refusal(input)).toContain(`  ${path}: ${what} is listed twice`);
  });
});

describe('workspace and data directory', () => {
  // these are about the config file's own dataDir: an environment override would hide them
  const saved = process.env.STEWARD_DATA_DIR;
  beforeEach(() => delete process.env.STEWARD_DATA_DIR);
  afterAll(() => {
    if (saved !== undefined) process.env.STEWARD_DATA_DIR = saved;
  });

  test('the workspace defaults to a directory of its own, next to the data directory', () => {
    const config = parseConfig({}, 'config', '/srv/steward');
    expect(config.tools.workspace).toBe('/srv/steward/workspace');
    expect(config.dataDir).toBe('/srv/steward/.steward');
  });

  test.each([
    [{ tools: { workspace: '.' } }],
    [{ tools: { workspace: 'w' }, dataDir: 'w' }],
    [{ tools: { workspace: 'w' }, dataDir: 'w/state' }],
  ])('a workspace holding the data directory is refused: %j', (input) => {
    expect(refusal(input)).toMatch(/tools\.workspace: .* contains the data directory/);
  });

  test('a data directory beside the workspace, or a sibling named alike, is fine', () => {
    expect(() => parseConfig({ tools: { workspace: 'w' }, dataDir: 'w-data' }, 'c', '/srv')).not.toThrow();
    expect(() =>
      parseConfig({ tools: { workspace: 'w' }, dataDir: '../elsewhere' }, 'c', '/srv'),
    ).not.toThrow();
  });
});

describe('exported shapes', () => {
  test('limitsNarrowingSchema: any subset, same bounds, no defaults, strict', () => {
    expect(limitsNarrowingSchema.parse({})).toEqual({});
    expect(limitsNarrowingSchema.parse({ maxSteps: 5 })).toEqual({ maxSteps: 5 });
    expect(limitsNarrowingSchema.safeParse({ deadlineSeconds: 1e13 }).success).toBe(false);
    expect(limitsNarrowingSchema.safeParse({ maxSteps: 0 }).success).toBe(false);
    expect(limitsNarrowingSchema.safeParse({ maxStep: 5 }).success).toBe(false);
    expect(Object.keys(limitsNarrowingSchema.shape).sort()).toEqual(Object.keys(limitsSchema.shape).sort());
  });

  test('limitsSchema still fills its defaults', () => {
    expect(limitsSchema.parse({})).toEqual({
      maxSteps: 20,
      budgetUsd: 1,
      deadlineSeconds: 3600,
      maxInvalidOutputs: 3,
      maxDenials: 3,
      maxOutputTokens: 256,
    });
  });

  test('a full valid config parses to the same shape as before', () => {
    const config = configSchema.parse({
      providers: { p: { ...provider, apiKeyEnv: 'KEY', timeoutMs: 30_000 } },
      models: [{ id: 'r', provider: 'p', model: 'm', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }],
      tools: { workspace: 'w', httpAllowlist: ['https://hooks.example.com/'] },
    });
    expect(config.models[0]).toEqual({
      id: 'r',
      provider: 'p',
      model: 'm',
      trust: 'public',
      price: { inputPerMTok: 0.15, outputPerMTok: 0.6 },
    });
    expect(config.tools).toEqual({ workspace: 'w', httpAllowlist: ['https://hooks.example.com/'] });
  });
});
