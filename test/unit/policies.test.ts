import type {
  ComputeNode,
  DataClass,
  ModelRoute,
  Price,
  RoutePreference,
  ToolDescriptor,
  TrustTier,
} from '../../src/shared/types';
import {
  actionDigest,
  approvalOutcome,
  checkDecision,
  type ApprovalDecisionInput,
  type ApprovalRequest,
} from '../../src/policies/approval';
import {
  costOfUsage,
  maxInputTokens,
  promptBytesBound,
  reserveModelCall,
  roundUsd,
  utf8Length,
} from '../../src/policies/budget';
import {
  DEFAULT_DATA_BOUNDARIES,
  DEFAULT_RULES,
  evaluateAction,
  stricterDataClass,
} from '../../src/policies/evaluate';
import {
  chooseComputeNodes,
  chooseModelRoutes,
  UNHEALTHY_AFTER_FAILURES,
  type Health,
} from '../../src/policies/routing';
import type { Policy } from '../../src/policies/types';
import { prng } from '../support/prng';

function tool(
  name: string,
  effect: ToolDescriptor['effect'],
  dataClass: DataClass = 'internal',
): ToolDescriptor {
  return { name, description: name, effect, dataClass, placement: 'worker', inputSchema: { type: 'object' } };
}

const granted = [
  tool('read_file', 'read'),
  tool('write_file', 'write'),
  tool('pay', 'spend'),
  tool('delete_all', 'irreversible'),
  tool('secret', 'read', 'confidential'),
];

function policy(rules: Policy['rules'] = []): Policy {
  return {
    rules,
    approval: { approvers: ['alice'], quorum: 1, timeoutSeconds: 60, onExpiry: 'stop' },
    dataBoundaries: DEFAULT_DATA_BOUNDARIES,
  };
}

describe('evaluateAction', () => {
  test('a tool the agent was not granted is denied whatever the rules say', () => {
    const verdict = evaluateAction(policy([{ id: 'allow-all', decision: 'allow' }]), 'http_post', granted);
    expect(verdict).toEqual({
      decision: 'deny',
      ruleIds: ['builtin/tool-not-granted'],
      reason: expect.stringContaining('http_post'),
    });
  });

  test('default rules: reads are allowed', () => {
    expect(evaluateAction(policy(), 'read_file', granted)).toEqual({
      decision: 'allow',
      ruleIds: ['default/read-allowed'],
      reason: 'reading is allowed',
    });
  });

  test.each(['write_file', 'pay', 'delete_all'])(
    'default rules: %s (an effect beyond reading) needs approval',
    (name) => {
      expect(evaluateAction(policy(), name, granted)).toMatchObject({
        decision: 'approve',
        ruleIds: ['default/effects-need-approval'],
      });
    },
  );

  test('DEFAULT_RULES cover every effect', () => {
    const covered = DEFAULT_RULES.flatMap((r) => r.effects ?? []);
    expect(new Set(covered)).toEqual(new Set(['read', 'write', 'spend', 'irreversible']));
  });

  test('the task’s rules come before the defaults, and the first match decides', () => {
    const p = policy([
      { id: 'no-secret-reads', tools: ['secret'], decision: 'deny', reason: 'secrets stay put' },
      { id: 'writes-ok', effects: ['write'], decision: 'allow' },
      { id: 'writes-denied', effects: ['write'], decision: 'deny' },
    ]);
    expect(evaluateAction(p, 'secret', granted)).toEqual({
      decision: 'deny',
      ruleIds: ['no-secret-reads'],
      reason: 'secrets stay put',
    });
    expect(evaluateAction(p, 'write_file', granted)).toEqual({
      decision: 'allow',
      ruleIds: ['writes-ok'],
      reason: 'rule writes-ok',
    });
    expect(evaluateAction(p, 'read_file', granted)).toMatchObject({
      decision: 'allow',
      ruleIds: ['default/read-allowed'],
    });
  });

  test('a rule matches only when every field it sets matches', () => {
    const p = policy([
      {
        id: 'confidential-reads-need-approval',
        effects: ['read'],
        dataClasses: ['confidential'],
        decision: 'approve',
      },
    ]);
    expect(evaluateAction(p, 'secret', granted).ruleIds).toEqual(['confidential-reads-need-approval']);
    expect(evaluateAction(p, 'read_file', granted).ruleIds).toEqual(['default/read-allowed']);
  });
});

describe('stricterDataClass', () => {
  const classes: DataClass[] = ['public', 'internal', 'confidential'];
  test.each([
    ['public', 'public', 'public'],
    ['public', 'internal', 'internal'],
    ['internal', 'public', 'internal'],
    ['internal', 'confidential', 'confidential'],
    ['confidential', 'public', 'confidential'],
  ] as const)('stricter of %s and %s is %s', (a, b, expected) => {
    expect(stricterDataClass(a, b)).toBe(expected);
  });

  test('is commutative and never loosens', () => {
    for (const a of classes) {
      for (const b of classes) {
        const s = stricterDataClass(a, b);
        expect(stricterDataClass(b, a)).toBe(s);
        expect(classes.indexOf(s)).toBeGreaterThanOrEqual(Math.max(classes.indexOf(a), classes.indexOf(b)));
      }
    }
  });
});

describe('approvals', () => {
  const action = { tool: 'write_file', input: { path: 'out.md', content: 'hello' } };

  function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
    return {
      id: 'apr-1',
      runId: 'run-1',
      step: 3,
      digest: actionDigest(action),
      action,
      approvers: ['alice', 'carol'],
      quorum: 1,
      requestedAt: '2024-01-01T00:00:00.000Z',
      deadline: '2024-01-01T01:00:00.000Z',
      onExpiry: 'stop',
      escalated: false,
      decisions: [],
      ruleIds: ['default/effects-need-approval'],
      ...overrides,
    };
  }

  const decide = (
    r: ApprovalRequest,
    overrides: Partial<ApprovalDecisionInput> = {},
  ): ApprovalDecisionInput => ({
    approvalId: r.id,
    digest: r.digest,
    identity: 'alice',
    decision: 'approve',
    ...overrides,
  });

  test('actionDigest ignores key order but not content', () => {
    expect(actionDigest({ tool: 'write_file', input: { content: 'hello', path: 'out.md' } })).toBe(
      actionDigest(action),
    );
    expect(actionDigest({ tool: 'write_file', input: { path: 'out.md', content: 'hellO' } })).not.toBe(
      actionDigest(action),
    );
    expect(actionDigest({ tool: 'write_fil3', input: action.input })).not.toBe(actionDigest(action));
    expect(actionDigest(action)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a valid decision passes', () => {
    const r = request();
    expect(checkDecision(r, decide(r))).toBeNull();
  });

  test('no pending request is refused', () => {
    expect(checkDecision(undefined, decide(request()))).toMatch(/no approval is pending/);
  });

  test('an unknown approval id is refused', () => {
    const r = request();
    expect(checkDecision(r, decide(r, { approvalId: 'apr-2' }))).toMatch(/unknown approval id apr-2/);
  });

  test('a digest of a changed action is refused', () => {
    const r = request();
    const changed = actionDigest({ tool: 'write_file', input: { path: 'out.md', content: 'rm -rf' } });
    expect(checkDecision(r, decide(r, { digest: changed }))).toMatch(/digest does not match/);
  });

  test('an identity that may not approve is refused', () => {
    const r = request();
    expect(checkDecision(r, decide(r, { identity: 'mallory' }))).toBe('mallory may not approve this request');
  });

  test('a missing identity or a bad decision value is refused', () => {
    const r = request();
    expect(checkDecision(r, decide(r, { identity: '  ' }))).toBe('identity is missing');
    expect(checkDecision(r, decide(r, { decision: 'maybe' as 'approve' }))).toMatch(/approve or reject/);
  });

  test('the same person cannot decide twice', () => {
    const r = request({ quorum: 2, decisions: [{ ...decide(request()), at: '2024-01-01T00:01:00.000Z' }] });
    expect(checkDecision(r, decide(r))).toBe('alice has already decided');
    expect(checkDecision(r, decide(r, { identity: 'carol' }))).toBeNull();
  });

  test('a quorum of 2 needs two distinct approvers', () => {
    const r = request({ quorum: 2 });
    expect(approvalOutcome(r)).toBe('pending');
    r.decisions.push({ ...decide(r), at: 't1' });
    expect(approvalOutcome(r)).toBe('pending');
    r.decisions.push({ ...decide(r), at: 't2' }); // the same person again does not count twice
    expect(approvalOutcome(r)).toBe('pending');
    r.decisions.push({ ...decide(r, { identity: 'carol' }), at: 't3' });
    expect(approvalOutcome(r)).toBe('approved');
  });

  test('one reject wins, even against a reached quorum', () => {
    const r = request({ quorum: 1 });
    r.decisions.push({ ...decide(r, { decision: 'reject' }), at: 't1' });
    expect(approvalOutcome(r)).toBe('rejected');
    const r2 = request({ quorum: 1 });
    r2.decisions.push(
      { ...decide(r2), at: 't1' },
      { ...decide(r2, { identity: 'carol', decision: 'reject' }), at: 't2' },
    );
    expect(approvalOutcome(r2)).toBe('rejected');
  });
});

describe('budget', () => {
  test('costOfUsage prices input and output per million tokens', () => {
    expect(
      costOfUsage({ inputPerMTok: 3, outputPerMTok: 15 }, { inputTokens: 1_000_000, outputTokens: 0 }),
    ).toBe(3);
    expect(
      costOfUsage({ inputPerMTok: 3, outputPerMTok: 15 }, { inputTokens: 0, outputTokens: 2_000_000 }),
    ).toBe(30);
    expect(
      costOfUsage({ inputPerMTok: 1, outputPerMTok: 2 }, { inputTokens: 180, outputTokens: 25 }),
    ).toBeCloseTo(230 / 1e6, 12);
    expect(costOfUsage({ inputPerMTok: 0, outputPerMTok: 0 }, { inputTokens: 1e9, outputTokens: 1e9 })).toBe(
      0,
    );
  });

  test('maxInputTokens bounds tokens by bytes plus framing', () => {
    expect(maxInputTokens(0, 0)).toBe(0);
    expect(maxInputTokens(100, 2)).toBeGreaterThan(100);
  });

  test('a call that fits is reserved for its worst case', () => {
    const price = { inputPerMTok: 1, outputPerMTok: 2 };
    const r = reserveModelCall(price, 1, 1000, 256)!;
    expect(r.maxOutputTokens).toBe(256);
    expect(r.reservedUsd).toBeCloseTo((1000 * 1 + 256 * 2) / 1e6, 15);
  });

  test('the output limit is lowered to what the budget affords', () => {
    const price = { inputPerMTok: 1, outputPerMTok: 1 };
    // $0.0001 remaining, input costs $0.00005, so 50 output tokens fit
    const r = reserveModelCall(price, 0.0001, 50, 256)!;
    expect(r.maxOutputTokens).toBe(50);
    expect(r.reservedUsd).toBeLessThanOrEqual(0.0001);
  });

  test('returns null when not even one output token fits', () => {
    expect(reserveModelCall({ inputPerMTok: 1, outputPerMTok: 1 }, 0.00005, 50, 256)).toBeNull();
    expect(reserveModelCall({ inputPerMTok: 1, outputPerMTok: 1 }, 0, 0, 256)).toBeNull();
    expect(reserveModelCall({ inputPerMTok: 10, outputPerMTok: 1 }, 0.001, 1000, 256)).toBeNull();
    expect(reserveModelCall({ inputPerMTok: 1, outputPerMTok: 1 }, -1, 0, 256)).toBeNull();
  });

  test('zero-price routes always fit a non-negative budget and keep the step limit', () => {
    expect(reserveModelCall({ inputPerMTok: 0, outputPerMTok: 0 }, 0, 1e9, 256)).toEqual({
      maxOutputTokens: 256,
      reservedUsd: 0,
    });
    expect(reserveModelCall({ inputPerMTok: 1, outputPerMTok: 0 }, 0.001, 1000, 64)).toEqual({
      maxOutputTokens: 64,
      reservedUsd: 0.001,
    });
    expect(reserveModelCall({ inputPerMTok: 1, outputPerMTok: 0 }, 0.0009, 1000, 64)).toBeNull();
  });

  test('property: a reservation never exceeds what remains, never exceeds the step limit, and covers its worst case', () => {
    const rand = prng(20240601);
    const prices = [0, 0.01, 0.07, 0.1, 0.15, 0.3, 0.6, 1, 2.5, 3, 10, 15, 60, 75];
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let reserved = 0;
    let refused = 0;
    const violations: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const price: Price =
        rand() < 0.6
          ? { inputPerMTok: pick(prices), outputPerMTok: pick(prices) }
          : { inputPerMTok: rand() * 100, outputPerMTok: rand() * 100 };
      // budgets as people write them (whole 1/10,000ths of a dollar), micro-dollar leftovers, and arbitrary doubles
      const kind = rand();
      const remaining =
        kind < 0.05
          ? 0
          : kind < 0.5
            ? Math.round(rand() * 1000) / 10_000
            : kind < 0.75
              ? roundUsd(rand() * 0.05)
              : rand() * 2;
      const inputTokens = rand() < 0.2 ? 0 : Math.floor(rand() * 20_000);
      // a generous step limit lets the budget bind, a small one lets the step limit bind
      const stepMax = rand() < 0.5 ? 1_000_000 : 1 + Math.floor(rand() * 4096);
      const r = reserveModelCall(price, remaining, inputTokens, stepMax);
      const context = JSON.stringify({ price, remaining, inputTokens, stepMax, r });
      if (r === null) {
        refused++;
        // refusing is right only when a one-token answer (or, at zero output price, the input) does not fit
        const cheapest = (inputTokens * price.inputPerMTok + price.outputPerMTok) / 1e6;
        if (!(cheapest > remaining * (1 - 1e-12))) violations.push(`refused a call that fits: ${context}`);
        continue;
      }
      reserved++;
      if (!(r.reservedUsd <= remaining)) violations.push(`reserved more than remains: ${context}`);
      if (!(r.maxOutputTokens >= 1 && r.maxOutputTokens <= stepMax && Number.isInteger(r.maxOutputTokens))) {
        violations.push(`bad maxOutputTokens: ${context}`);
      }
      const worstCase = costOfUsage(price, { inputTokens, outputTokens: r.maxOutputTokens });
      if (Math.abs(worstCase - r.reservedUsd) > 1e-12)
        violations.push(`reservation does not cover its worst case: ${context}`);
    }
    expect({ count: violations.length, first: violations.slice(0, 3) }).toEqual({ count: 0, first: [] });
    // the loop exercised both outcomes
    expect(reserved).toBeGreaterThan(2000);
    expect(refused).toBeGreaterThan(500);
  });

  test('a budget that binds exactly is not overshot by floating-point rounding', () => {
    // $0.0049 left at $0.07 per million output tokens affords exactly 70,000 tokens; the reservation must not exceed $0.0049
    const r = reserveModelCall({ inputPerMTok: 0.01, outputPerMTok: 0.07 }, 0.0049, 0, 1_000_000);
    expect(r).not.toBeNull();
    expect(r!.reservedUsd).toBeLessThanOrEqual(0.0049);
    const r2 = reserveModelCall({ inputPerMTok: 0.01, outputPerMTok: 0.6 }, 0.0385, 1000, 1_000_000);
    expect(r2!.reservedUsd).toBeLessThanOrEqual(0.0385);
  });
});

describe('routing', () => {
  const route = (id: string, trust: TrustTier, cost: number, latencyMs?: number): ModelRoute => ({
    id,
    provider: 'p',
    model: id,
    trust,
    price: { inputPerMTok: cost / 2, outputPerMTok: cost / 2 },
    latencyMs,
  });
  const boundaries = { dataBoundaries: DEFAULT_DATA_BOUNDARIES };
  const ids = (xs: Array<{ id: string }>) => xs.map((x) => x.id);

  test('property: confidential data never reaches a public route under the default boundaries', () => {
    const rand = prng(7);
    const tiers: TrustTier[] = ['local', 'private', 'public'];
    const preferences: RoutePreference[] = ['cost', 'latency', 'privacy'];
    for (let i = 0; i < 500; i++) {
      const n = Math.floor(rand() * 8);
      const routes = Array.from({ length: n }, (_, j) =>
        route(`r${j}`, tiers[Math.floor(rand() * 3)]!, rand() * 20, rand() < 0.3 ? undefined : rand() * 5000),
      );
      const health: Health = Object.fromEntries(
        routes.map((r) => [r.id, { consecutiveFailures: Math.floor(rand() * 4) }]),
      );
      const chosen = chooseModelRoutes(routes, 'confidential', boundaries, preferences[i % 3]!, health);
      expect(chosen.every((r) => r.trust !== 'public')).toBe(true);
      // nothing allowed is dropped, and nothing is duplicated
      expect(new Set(ids(chosen))).toEqual(
        new Set(routes.filter((r) => r.trust !== 'public').map((r) => r.id)),
      );
      expect(chosen).toHaveLength(routes.filter((r) => r.trust !== 'public').length);
      const nodes: ComputeNode[] = routes.map((r) => ({
        id: r.id,
        taskQueue: `q-${r.id}`,
        trust: r.trust,
        pricePerJobUsd: r.price!.inputPerMTok,
      }));
      expect(
        chooseComputeNodes(nodes, 'confidential', boundaries, preferences[i % 3]!, health).every(
          (x) => x.trust !== 'public',
        ),
      ).toBe(true);
    }
  });

  test('public and internal data may use every tier', () => {
    const routes = [route('pub', 'public', 1), route('priv', 'private', 2), route('loc', 'local', 3)];
    expect(ids(chooseModelRoutes(routes, 'public', boundaries, 'cost', {}))).toEqual(['pub', 'priv', 'loc']);
    expect(ids(chooseModelRoutes(routes, 'internal', boundaries, 'cost', {}))).toEqual([
      'pub',
      'priv',
      'loc',
    ]);
    expect(ids(chooseModelRoutes(routes, 'confidential', boundaries, 'cost', {}))).toEqual(['priv', 'loc']);
  });

  test('no allowed route gives an empty list', () => {
    expect(chooseModelRoutes([route('pub', 'public', 0)], 'confidential', boundaries, 'privacy', {})).toEqual(
      [],
    );
  });

  test('preference cost orders by price, then latency', () => {
    const routes = [
      route('a', 'local', 5, 100),
      route('b', 'public', 1, 900),
      route('c', 'private', 1, 200),
      route('d', 'public', 3, 10),
    ];
    expect(ids(chooseModelRoutes(routes, 'public', boundaries, 'cost', {}))).toEqual(['c', 'b', 'd', 'a']);
  });

  test('preference latency orders by latency (default 1000 ms), then price', () => {
    const routes = [
      route('a', 'local', 5, 100),
      route('b', 'public', 1),
      route('c', 'private', 1, 200),
      route('d', 'public', 3, 10),
      route('e', 'public', 0),
    ];
    expect(ids(chooseModelRoutes(routes, 'public', boundaries, 'latency', {}))).toEqual([
      'd',
      'a',
      'c',
      'e',
      'b',
    ]);
  });

  test('preference privacy orders local, private, public, then price', () => {
    const routes = [
      route('pub', 'public', 0),
      route('priv2', 'private', 9),
      route('loc', 'local', 7),
      route('priv1', 'private', 2),
    ];
    expect(ids(chooseModelRoutes(routes, 'public', boundaries, 'privacy', {}))).toEqual([
      'loc',
      'priv1',
      'priv2',
      'pub',
    ]);
  });

  test(`a route with ${UNHEALTHY_AFTER_FAILURES}+ consecutive failures moves last; one failure does not`, () => {
    const routes = [route('cheap', 'public', 1), route('mid', 'public', 2), route('dear', 'public', 3)];
    expect(
      ids(chooseModelRoutes(routes, 'public', boundaries, 'cost', { cheap: { consecutiveFailures: 1 } })),
    ).toEqual(['cheap', 'mid', 'dear']);
    expect(
      ids(chooseModelRoutes(routes, 'public', boundaries, 'cost', { cheap: { consecutiveFailures: 2 } })),
    ).toEqual(['mid', 'dear', 'cheap']);
    expect(
      ids(
        chooseModelRoutes(routes, 'public', boundaries, 'cost', {
          cheap: { consecutiveFailures: 5 },
          mid: { consecutiveFailures: 3 },
        }),
      ),
    ).toEqual(['dear', 'cheap', 'mid']);
    expect(
      ids(chooseModelRoutes(routes, 'public', boundaries, 'cost', { cheap: { consecutiveFailures: 0 } })),
    ).toEqual(['cheap', 'mid', 'dear']);
  });

  test('ties keep config order', () => {
    const routes = [route('z', 'public', 1, 100), route('a', 'public', 1, 100), route('m', 'public', 1, 100)];
    for (const pref of ['cost', 'latency', 'privacy'] as const) {
      expect(ids(chooseModelRoutes(routes, 'public', boundaries, pref, {}))).toEqual(['z', 'a', 'm']);
    }
    const nodes: ComputeNode[] = [
      { id: 'n2', taskQueue: 'q2', trust: 'local' },
      { id: 'n1', taskQueue: 'q1', trust: 'local', pricePerJobUsd: 0 },
    ];
    expect(ids(chooseComputeNodes(nodes, 'internal', boundaries, 'cost', {}))).toEqual(['n2', 'n1']);
  });

  test('compute nodes: cost by price per job, privacy by tier, unhealthy last', () => {
    const nodes: ComputeNode[] = [
      { id: 'cloud', taskQueue: 'q1', trust: 'public', pricePerJobUsd: 0.001 },
      { id: 'lab', taskQueue: 'q2', trust: 'private', pricePerJobUsd: 0.01 },
      { id: 'laptop', taskQueue: 'q3', trust: 'local' },
    ];
    expect(ids(chooseComputeNodes(nodes, 'public', boundaries, 'cost', {}))).toEqual([
      'laptop',
      'cloud',
      'lab',
    ]);
    expect(ids(chooseComputeNodes(nodes, 'public', boundaries, 'privacy', {}))).toEqual([
      'laptop',
      'lab',
      'cloud',
    ]);
    expect(
      ids(
        chooseComputeNodes(nodes, 'confidential', boundaries, 'cost', { laptop: { consecutiveFailures: 2 } }),
      ),
    ).toEqual(['lab', 'laptop']);
  });

  test('custom boundaries are honoured', () => {
    const routes = [route('pub', 'public', 1), route('loc', 'local', 2)];
    const strict = {
      dataBoundaries: {
        public: ['local'] as TrustTier[],
        internal: ['local'] as TrustTier[],
        confidential: [] as TrustTier[],
      },
    };
    expect(ids(chooseModelRoutes(routes, 'public', strict, 'cost', {}))).toEqual(['loc']);
    expect(chooseModelRoutes(routes, 'confidential', strict, 'cost', {})).toEqual([]);
  });
});

describe('data classes seen so far, prompt bounds, and settled or escalated approvals', () => {
  const httpPost: ToolDescriptor = {
    name: 'http_post',
    description: 'post',
    effect: 'write',
    dataClass: 'public',
    placement: 'worker',
    inputSchema: { type: 'object' },
  };

  const policy: Policy = {
    rules: [
      { id: 'no-posting-secrets', tools: ['http_post'], dataClasses: ['confidential'], decision: 'deny' },
    ],
    approval: { approvers: ['alice'], quorum: 1, timeoutSeconds: 60, onExpiry: 'stop' },
    dataBoundaries: DEFAULT_DATA_BOUNDARIES,
  };

  describe('a rule on data classes sees what the task has read, not only what the tool returns', () => {
    test.each<[DataClass, string]>([
      ['public', 'approve'],
      ['internal', 'approve'],
      ['confidential', 'deny'],
    ])('a task that has seen %s data: http_post is %s', (dataClass, decision) => {
      expect(evaluateAction(policy, 'http_post', [httpPost], { dataClass }).decision).toBe(decision);
    });
  });

  describe('the prompt size bound used for budget reservations', () => {
    test('a blob reference counts the bytes it stands for, not its own few', () => {
      const ref = { $blob: 'a'.repeat(64), bytes: 150_000, preview: 'word word' };
      expect(
        promptBytesBound([{ role: 'tool', content: [{ json: { path: 'big.txt', text: ref } }] }]),
      ).toBeGreaterThan(150_000);
    });

    test('it is never below the UTF-8 size of the JSON it bounds', () => {
      const values = [
        'plain',
        'żółć 🙂 漢字',
        { a: [1, 2, { b: null, c: true }], d: 'x'.repeat(1000) },
        [{ role: 'user', content: ['hello', 'wörld'] }],
      ];
      for (const v of values)
        expect(promptBytesBound(v)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(v)));
    });

    test('utf8Length agrees with Buffer.byteLength', () => {
      for (const s of ['', 'abc', 'é', '€', '🙂', 'a🙂b€é', '\ud800']) {
        expect(utf8Length(s)).toBe(Buffer.byteLength(s));
      }
    });
  });

  describe('approval decisions after the outcome is settled, and after an escalation', () => {
    const request = (overrides: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
      id: 'approval-1',
      runId: 'run-1',
      step: 1,
      digest: 'd',
      action: { tool: 'write_file', input: {} },
      approvers: ['alice', 'bob'],
      quorum: 1,
      requestedAt: '',
      deadline: '',
      onExpiry: 'stop',
      escalated: false,
      decisions: [],
      ruleIds: [],
      ...overrides,
    });

    test('once approved, a second approver cannot reject in the same breath', () => {
      const approved = request({
        decisions: [
          { approvalId: 'approval-1', digest: 'd', identity: 'alice', decision: 'approve', at: '' },
        ],
      });
      expect(approvalOutcome(approved)).toBe('approved');
      expect(
        checkDecision(approved, {
          approvalId: 'approval-1',
          digest: 'd',
          identity: 'bob',
          decision: 'reject',
        }),
      ).toMatch(/already approved/);
    });

    test('after an escalation only the new approvers’ decisions count', () => {
      const escalated = request({
        approvers: ['carol'],
        escalated: true,
        decisions: [
          { approvalId: 'approval-1', digest: 'd', identity: 'alice', decision: 'approve', at: '' },
        ],
      });
      expect(approvalOutcome(escalated)).toBe('pending');
    });

    test('a reason that is not text is refused', () => {
      expect(
        checkDecision(request(), {
          approvalId: 'approval-1',
          digest: 'd',
          identity: 'alice',
          decision: 'approve',
          reason: 5 as never,
        }),
      ).toBe('reason must be text');
    });
  });
});
