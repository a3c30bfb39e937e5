import fc from 'fast-check';
import { narrowPolicy } from '../../src/policies/taskPolicy';
import {
  approvalOutcome,
  callDigest,
  checkDecision,
  type ApprovalRequest,
  type CallBinding,
} from '../../src/policies/approval';
import {
  aboveDataClass,
  DEFAULT_DATA_BOUNDARIES,
  evaluateAction,
  stricterDataClass,
} from '../../src/policies/evaluate';
import type { ArgCondition, Decision, Policy, PolicyRule } from '../../src/policies/types';
import type { DataClass, ToolDescriptor, ToolEffect } from '../../src/shared/types';

/**
 * Rules that must hold for every policy, action and state, not only for the examples the other tests
 * pick: generated policies of every shape (a policy file's or the inline policy's, with or without a
 * fallback, a ceiling, a narrowing), every kind of rule and argument condition.
 */

const RUNS = { numRuns: 2000 };
const TOOL_NAMES = ['read_file', 'write_file', 'pay', 'http_post'] as const;
const EFFECTS: ToolEffect[] = ['read', 'write', 'spend', 'irreversible'];
const CLASSES: DataClass[] = ['public', 'internal', 'confidential'];
const AGENTS = ['notes', 'payer'];
const PRINCIPALS = ['alice', 'bob', 'carol'];
const ROLES = { alice: ['finance'], bob: ['ops'], carol: ['finance', 'ops'] };
const RANK: Record<Decision, number> = { allow: 0, approve: 1, deny: 2 };

const subset = <T>(items: readonly T[]) =>
  fc.option(fc.subarray([...items], { minLength: 1 }), { nil: undefined });

const toolArb: fc.Arbitrary<ToolDescriptor> = fc.record({
  name: fc.constantFrom(...TOOL_NAMES),
  description: fc.constant('a tool'),
  effect: fc.constantFrom(...EFFECTS),
  dataClass: fc.constantFrom(...CLASSES),
  placement: fc.constant('worker' as const),
  inputSchema: fc.constant({ type: 'object' }),
});
/** The agent's tools: distinct names. */
const toolsArb = fc.uniqueArray(toolArb, { minLength: 1, maxLength: 4, selector: (t) => t.name });

const conditionArb: fc.Arbitrary<ArgCondition> = fc.oneof(
  fc.record({
    arg: fc.constant('amount'),
    compare: fc.constantFrom('>', '>=', '<', '<=', '==', '!=' as const),
    value: fc.integer({ min: -5, max: 500 }),
  }),
  fc.record({ arg: fc.constant('path'), glob: fc.constantFrom('notes/**', 'secrets/*', '**/*.md', '*') }),
  fc.record({ arg: fc.constant('url'), host: fc.constantFrom('*.example.com', 'api.example.com') }),
  fc.record({ arg: fc.constant('mode'), equals: fc.constantFrom('fast', 1, true) }),
);

const ruleArb = (decisions: Decision[] = ['allow', 'deny', 'approve']): fc.Arbitrary<PolicyRule> =>
  fc
    .record({
      decision: fc.constantFrom(...decisions),
      tools: subset(TOOL_NAMES),
      effects: subset(EFFECTS),
      dataClasses: subset(CLASSES),
      agents: subset(AGENTS),
      principals: subset(PRINCIPALS),
      roles: subset(['finance', 'ops']),
      args: fc.option(fc.array(conditionArb, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    })
    .map(
      (r) =>
        Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as PolicyRule,
    );

const withIds = (prefix: string) => (rules: PolicyRule[]) =>
  rules.map((r, i) => ({ ...r, id: `${prefix}${i}` }));

const APPROVALS = { default: { identities: ['alice', 'bob'], quorum: 1, timeoutSeconds: 60 } };
const LEGACY_APPROVAL = { approvers: ['alice'], quorum: 1, timeoutSeconds: 60, onExpiry: 'stop' as const };

/** Policies of every shape a task may run under, including those recorded before policy files. */
const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    rules: fc.array(ruleArb(), { maxLength: 6 }).map(withIds('r')),
    shape: fc.constantFrom('file-deny', 'file-builtin', 'inline', 'first-match'),
    dataCeiling: fc.option(fc.constantFrom(...CLASSES), { nil: undefined }),
  })
  .map(({ rules, shape, dataCeiling }) => {
    const policy: Policy =
      shape === 'first-match'
        ? { rules, approval: LEGACY_APPROVAL, dataBoundaries: DEFAULT_DATA_BOUNDARIES }
        : shape === 'inline'
          ? {
              evaluation: 'strictest',
              fallback: 'builtin',
              rules,
              approval: LEGACY_APPROVAL,
              dataBoundaries: DEFAULT_DATA_BOUNDARIES,
            }
          : {
              evaluation: 'strictest',
              fallback: shape === 'file-deny' ? 'deny' : 'builtin',
              rules,
              roles: ROLES,
              approvals: APPROVALS,
              dataBoundaries: DEFAULT_DATA_BOUNDARIES,
            };
    return dataCeiling ? { ...policy, dataCeiling } : policy;
  });
const strictPolicyArb = policyArb.filter((p) => p.evaluation === 'strictest');

const blob = { $blob: 'f'.repeat(64), bytes: 3, preview: '' };
const inputArb = fc.record(
  {
    amount: fc.oneof(fc.integer({ min: -10, max: 1000 }), fc.constantFrom('150', 'lots', blob)),
    path: fc.constantFrom('notes/a.md', 'notes/../secrets/k', 'secrets/k', 'x.md', './notes/b.txt', blob),
    url: fc.constantFrom(
      'https://api.example.com/x',
      'https://evil.net/',
      'not a url',
      'https://a.b.example.com',
    ),
    mode: fc.constantFrom('fast', 'slow', 1, true),
  },
  { requiredKeys: [] },
);

/** A proposed action in its setting: which tool of the agent's, the arguments, who, what was seen. */
const actionArb = toolsArb.chain((tools) =>
  fc.record({
    tools: fc.constant(tools),
    tool: fc.oneof(fc.constantFrom(...tools.map((t) => t.name)), fc.constant('not_granted')),
    input: inputArb,
    agent: fc.constantFrom(...AGENTS),
    principal: fc.constantFrom(...PRINCIPALS),
    seen: fc.constantFrom(...CLASSES),
  }),
);

type Action = typeof actionArb extends fc.Arbitrary<infer A> ? A : never;
const decide = (policy: Policy, a: Action) =>
  evaluateAction(
    policy,
    a.tool,
    a.tools,
    { dataClass: a.seen },
    { agent: a.agent, principal: a.principal, input: a.input },
  );

describe('policy properties (fast-check)', () => {
  test('nothing above the data ceiling is ever allowed', () => {
    fc.assert(
      fc.property(policyArb, actionArb, fc.constantFrom(...CLASSES), (policy, action, ceiling) => {
        const capped = { ...policy, dataCeiling: ceiling };
        const tool = action.tools.find((t) => t.name === action.tool);
        if (!tool) return;
        const touched = stricterDataClass(tool.dataClass, action.seen);
        const verdict = decide(capped, action);
        if (aboveDataClass(touched, ceiling)) {
          expect(verdict.decision).toBe('deny');
          expect(verdict.ruleIds).toEqual(['builtin/above-data-ceiling']);
        }
      }),
      RUNS,
    );
  });

  test('a narrowed policy never allows what its parent denies, nor skips an approval it asks for', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(ruleArb(), { maxLength: 4 }).map(withIds('n')),
        fc.option(fc.constantFrom(...CLASSES), { nil: undefined }),
        actionArb,
        (parent, rules, dataCeiling, action) => {
          const narrowed: Policy = {
            ...parent,
            ...(dataCeiling && (!parent.dataCeiling || !aboveDataClass(dataCeiling, parent.dataCeiling))
              ? { dataCeiling }
              : {}),
            narrowing: { rules },
          };
          const before = decide(parent, action);
          const after = decide(narrowed, action);
          expect(RANK[after.decision]).toBeGreaterThanOrEqual(RANK[before.decision]);
          // at the same level of approval, the parent's approval rule still applies
          if (before.decision === 'approve' && after.decision === 'approve')
            expect(after.approval).toBe(before.approval);
        },
      ),
      RUNS,
    );
  });

  test('a narrowing the worker accepts at start never widens what the task may do', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(ruleArb(), { maxLength: 4 }).map(withIds('n')),
        actionArb,
        (parent, rules, action) => {
          const narrowed = narrowPolicy(
            parent,
            { rules },
            { agent: action.agent, principal: action.principal, tools: action.tools },
          );
          if ('refused' in narrowed) return;
          expect(RANK[decide(narrowed, action).decision]).toBeGreaterThanOrEqual(
            RANK[decide(parent, action).decision],
          );
        },
      ),
      RUNS,
    );
  });

  test('a deny rule that matches always wins, wherever it stands among the rules', () => {
    fc.assert(
      fc.property(strictPolicyArb, actionArb, fc.nat(), (policy, action, at) => {
        const tool = action.tools.find((t) => t.name === action.tool);
        if (!tool) return;
        const deny: PolicyRule = { id: 'the-deny', decision: 'deny', tools: [tool.name], reason: 'no' };
        const rules = [...policy.rules];
        rules.splice(at % (rules.length + 1), 0, deny);
        const verdict = decide({ ...policy, rules }, action);
        expect(verdict.decision).toBe('deny');
        if (verdict.ruleIds[0] !== 'builtin/above-data-ceiling')
          expect(verdict.ruleIds).toContain('the-deny');
      }),
      RUNS,
    );
  });

  test('an argument that cannot be judged (blob store, wrong type) never loosens a decision', () => {
    fc.assert(
      fc.property(
        strictPolicyArb,
        actionArb,
        fc.subarray(['amount', 'path', 'url', 'mode']),
        (policy, action, hidden) => {
          const input: Record<string, unknown> = { ...action.input };
          for (const key of hidden) if (key in input) input[key] = blob;
          const before = decide(policy, action);
          const after = decide(policy, { ...action, input });
          expect(RANK[after.decision]).toBeGreaterThanOrEqual(RANK[before.decision]);
        },
      ),
      RUNS,
    );
  });

  test('an approval never applies to a changed call: tool, definition, arguments or policy', () => {
    const callArb = fc.record({
      tool: fc.constantFrom(...TOOL_NAMES),
      input: fc.jsonValue({ maxDepth: 3 }),
      definitionHash: fc.constantFrom('a'.repeat(64), 'b'.repeat(64)),
      policyHash: fc.constantFrom('c'.repeat(64), 'd'.repeat(64), ''),
    });
    fc.assert(
      fc.property(callArb, callArb, fc.constantFrom('carol', 'dave'), (approved, pending, identity) => {
        const binding = (c: typeof approved): CallBinding => ({
          definitionHash: c.definitionHash,
          policyHash: c.policyHash,
        });
        const digestOf = (c: typeof approved) => callDigest({ tool: c.tool, input: c.input }, binding(c));
        const same = digestOf(approved) === digestOf(pending);
        const request: ApprovalRequest = {
          id: 'approval-1',
          runId: 'run-1',
          step: 1,
          digest: digestOf(pending),
          action: { tool: pending.tool, input: pending.input },
          approvers: ['carol', 'dave'],
          quorum: 1,
          requestedAt: '',
          deadline: '',
          onExpiry: 'stop',
          escalated: false,
          decisions: [],
          ruleIds: [],
          binding: binding(pending),
        };
        const decision = {
          approvalId: 'approval-1',
          digest: digestOf(approved),
          identity,
          decision: 'approve' as const,
        };
        const refusal = checkDecision(request, decision);
        // a decision recorded anyway (say, from before an edit) does not count for another call
        request.decisions.push({ ...decision, at: '' });
        const outcome = approvalOutcome(request);
        if (same) {
          expect(JSON.stringify([approved.tool, approved.definitionHash, approved.policyHash])).toBe(
            JSON.stringify([pending.tool, pending.definitionHash, pending.policyHash]),
          );
          expect(refusal).toBeNull();
          expect(outcome).toBe('approved');
        } else {
          expect(refusal).toMatch(/^digest does not match/);
          expect(outcome).toBe('pending');
        }
      }),
      RUNS,
    );
  });
});
