import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry } from '../../src/agents';
import { policyOfDocument } from '../../src/policies/taskPolicy';
import { resolveTaskSpec, TaskRefused } from '../../src/policies/taskSpec';
import { currentPolicyFile } from '../../src/activities/task';
import { ConfigError, parseConfig } from '../../src/config/load';
import { parsePolicyDocument, readPolicyFile } from '../../src/config/policyFile';
import { globMatches, hostMatches, normalizePath } from '../../src/policies/args';
import {
  approvalOutcome,
  approvalPlan,
  callDigest,
  checkDecision,
  definitionHashOf,
  type ApprovalRequest,
} from '../../src/policies/approval';
import { evaluateAction } from '../../src/policies/evaluate';
import type { ToolDescriptor } from '../../src/shared/types';
import { builtinTools } from '../../src/tools/builtin';
import { ToolRegistry } from '../../src/tools/registry';

const dir = mkdtempSync(join(tmpdir(), 'steward-policyfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

export const EXAMPLE_POLICY = `
version: 1
default: deny
roles:
  alice: [approver]
  carol: [approver]
  dave: [approver, manager]
  erin: [manager]
  bob: [finance]
dataCeiling: internal
rules:
  - { id: reads, decision: allow, effects: [read] }
  - id: no-secrets
    decision: deny
    tools: [read_file, write_file]
    args: { path: { glob: "secrets/**" } }
    reason: secrets stay where they are
  - id: notes-writes
    decision: approve
    tools: [write_file]
    args: { path: { glob: "notes/**" } }
  - id: big-payments
    decision: approve
    approval: payments
    tools: [pay]
    args: { amount: "> 100" }
  - { id: small-payments, decision: allow, tools: [pay], roles: [finance], args: { amount: "<= 100" } }
  - id: hooks
    decision: approve
    tools: [http_post]
    agents: [notifier]
    args: { url: { host: "*.example.com" } }
approvals:
  default:
    roles: [approver]
    quorum: 2
    timeoutSeconds: 600
    editable: [content]
    escalation:
      - { roles: [manager], quorum: 1, timeoutSeconds: 300 }
  payments:
    identities: [erin]
    allowSelfApproval: true
`;

function tool(
  name: string,
  effect: ToolDescriptor['effect'],
  dataClass: ToolDescriptor['dataClass'] = 'internal',
) {
  return {
    name,
    description: name,
    effect,
    dataClass,
    placement: 'worker' as const,
    inputSchema: { type: 'object' },
  };
}
const granted = [
  tool('read_file', 'read'),
  tool('write_file', 'write'),
  tool('pay', 'spend'),
  tool('http_post', 'irreversible', 'public'),
  tool('vault', 'read', 'confidential'),
];
const policy = policyOfDocument(parsePolicyDocument(EXAMPLE_POLICY, 'example.yaml'));
const decide = (name: string, input: unknown, who: { agent?: string; principal?: string } = {}) =>
  evaluateAction(
    policy,
    name,
    granted,
    { dataClass: 'public' },
    { agent: 'writer', principal: 'bob', ...who, input },
  );

function invalid(text: string): string {
  try {
    parsePolicyDocument(text, '/etc/steward/policy.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the policy to be refused');
}

describe('policy files: every error names the file, the path and what was expected', () => {
  test.each([
    ['rules: [{ id: x, decision: maybe }]', 'rules[0].decision', 'allow'],
    ['rules: [{ id: x, decision: deny, tool: [a] }]', 'rules[0]', 'tool'],
    ['rules: [{ id: x, decision: deny, args: { amount: 100a } }]', 'rules[0].args.amount', '"> 100"'],
    [
      'rules:\n  - id: x\n    decision: deny\n    args:\n      amount: >\n        100\n',
      'rules[0].args.amount',
      'folded',
    ],
    ['rules: [{ id: x, decision: deny, args: { url: { host: "a b" } } }]', 'rules[0].args.url', 'host name'],
    [
      'rules: [{ id: x, decision: approve, approval: nope }]',
      'rules[0].approval',
      'approval nope is not under approvals',
    ],
    ['rules: [{ id: x, decision: approve }]', 'rules[0]', 'no approvals.default'],
    ['rules: [{ id: x, decision: allow }, { id: x, decision: deny }]', 'rules[1].id', 'listed twice'],
    ['rules: [{ id: builtin/x, decision: allow }]', 'rules[0].id', 'reserved'],
    ['rules: [{ id: x, decision: allow, roles: [ghost] }]', 'rules[0].roles', 'given to nobody'],
    ['approvals: { default: { quorum: 1 } }', 'approvals.default', 'names no approvers'],
    [
      'roles: { a: [r], b: [r] }\napprovals: { default: { roles: [r], quorum: 3 } }',
      'approvals.default.quorum',
      'quorum 3 can never be met by the 2 approvers (a, b)',
    ],
    [
      'roles: { a: [r] }\napprovals: { default: { roles: [r], escalation: [{ roles: [boss] }] } }',
      'approvals.default.escalation[0].roles',
      'role boss',
    ],
    ['default: builtin', 'default', 'approvals.default'],
    ['dataCeiling: secret', 'dataCeiling', 'confidential'],
    ['rulez: []', '(top level)', 'rulez'],
  ])('%s', (text, path, expected) => {
    const message = invalid(text);
    expect(message).toContain('policy file /etc/steward/policy.yaml is invalid');
    expect(message).toContain(`${path}:`);
    expect(message).toContain(expected);
  });

  test('a YAML syntax error names the file and the line', () => {
    expect(() => parsePolicyDocument('rules: [\n  { id: x', '/p.yaml')).toThrow(
      /policy file \/p.yaml is not valid YAML: .*line/s,
    );
  });

  test('a missing file is named', () => {
    expect(() => readPolicyFile(join(dir, 'nope.yaml'))).toThrow(
      `policy file ${join(dir, 'nope.yaml')} does not exist`,
    );
  });
});

describe('policy files: what rules decide', () => {
  test('a deny wins over an allow and an approve that also match', () => {
    expect(decide('write_file', { path: 'secrets/key', content: 'x' })).toMatchObject({
      decision: 'deny',
      ruleIds: ['no-secrets'],
      reason: 'secrets stay where they are',
    });
    // reads are allowed, but not below secrets/, however the path is written
    expect(decide('read_file', { path: 'notes/a.md' })).toMatchObject({
      decision: 'allow',
      ruleIds: ['reads'],
    });
    expect(decide('read_file', { path: 'notes/../secrets/key' })).toMatchObject({ decision: 'deny' });
    expect(decide('read_file', { path: './secrets//key' })).toMatchObject({ decision: 'deny' });
  });

  test('anything no rule lists is denied', () => {
    expect(decide('write_file', { path: 'elsewhere.txt', content: 'x' })).toEqual({
      decision: 'deny',
      ruleIds: ['default/deny-unlisted'],
      reason: 'no rule of the policy allows write_file',
    });
  });

  test('approve names the approval rule that applies', () => {
    expect(decide('write_file', { path: 'notes/a.md', content: 'x' })).toEqual({
      decision: 'approve',
      ruleIds: ['notes-writes'],
      reason: 'rule notes-writes',
      approval: 'default',
    });
    expect(decide('pay', { amount: 250 })).toMatchObject({ decision: 'approve', approval: 'payments' });
  });

  test('numeric comparisons, roles and principals', () => {
    expect(decide('pay', { amount: 100 })).toMatchObject({ decision: 'allow', ruleIds: ['small-payments'] });
    expect(decide('pay', { amount: '99.5' })).toMatchObject({ decision: 'allow' });
    // carol has no finance role: nothing allows her small payments
    expect(decide('pay', { amount: 5 }, { principal: 'carol' })).toMatchObject({ decision: 'deny' });
    // a value that is not a number cannot satisfy an allow rule
    expect(decide('pay', { amount: 'lots' })).toMatchObject({ decision: 'deny' });
  });

  test('URL hosts and agents', () => {
    const post = (url: string, agent = 'notifier') =>
      decide('http_post', { url, body: '' }, { agent }).decision;
    expect(post('https://hooks.example.com/x')).toBe('approve');
    expect(post('https://a.b.example.com/x')).toBe('approve');
    expect(post('https://example.com/x')).toBe('deny');
    expect(post('https://hooks.example.com.evil.net/x')).toBe('deny');
    expect(post('https://evil.net\\@hooks.example.com/')).toBe('deny');
    expect(post('https://hooks.example.com/x', 'writer')).toBe('deny');
  });

  test('arguments in the blob store cannot satisfy an allow or approve rule, but do meet a deny rule', () => {
    const blob = { $blob: 'a'.repeat(64), bytes: 10, preview: '' };
    expect(decide('write_file', { path: blob, content: 'x' })).toMatchObject({
      decision: 'deny',
      ruleIds: ['no-secrets'],
    });
  });

  test('nothing above the data ceiling is allowed, whatever the rules say', () => {
    expect(decide('vault', {})).toMatchObject({ decision: 'deny', ruleIds: ['builtin/above-data-ceiling'] });
    const afterConfidential = evaluateAction(policy, 'read_file', granted, { dataClass: 'confidential' });
    expect(afterConfidential.ruleIds).toEqual(['builtin/above-data-ceiling']);
  });

  test('globs, hosts and paths', () => {
    expect(normalizePath('a/./b/../c')).toBe('a/c');
    expect(normalizePath('../x')).toBe('../x');
    expect(normalizePath('/a/../../b')).toBe('/b');
    expect(globMatches('notes/*.md', 'notes/a.md')).toBe(true);
    expect(globMatches('notes/*.md', 'notes/sub/a.md')).toBe(false);
    expect(globMatches('notes/**/*.md', 'notes/a.md')).toBe(true);
    expect(globMatches('notes/**/*.md', 'notes/x/y/a.md')).toBe(true);
    expect(globMatches('notes/**', 'notes/../etc/passwd')).toBe(false);
    expect(hostMatches('*.example.com', 'EXAMPLE.com')).toBe(false);
    expect(hostMatches('api.example.com', 'API.example.com.')).toBe(true);
  });
});

describe('approval rules', () => {
  test('approvers by role, in the order roles lists them, then the escalation chain', () => {
    expect(approvalPlan(policy, 'default')).toEqual({
      levels: [
        { approvers: ['alice', 'carol', 'dave'], quorum: 2, timeoutSeconds: 600 },
        { approvers: ['dave', 'erin'], quorum: 1, timeoutSeconds: 300 },
      ],
      allowSelfApproval: false,
      editable: ['content'],
    });
    expect(approvalPlan(policy, 'payments')).toMatchObject({ allowSelfApproval: true, editable: [] });
    expect(approvalPlan(policy, 'nope')).toBeUndefined();
  });

  const binding = { definitionHash: definitionHashOf(granted[1]!), policyHash: 'p'.repeat(64) };
  const action = { tool: 'write_file', input: { path: 'notes/a.md', content: 'draft' } };
  const request = (): ApprovalRequest => ({
    id: 'approval-1',
    runId: 'run-1',
    step: 1,
    digest: callDigest(action, binding),
    action,
    approvers: ['alice', 'carol', 'dave'],
    quorum: 2,
    requestedAt: '',
    deadline: '',
    onExpiry: 'escalate',
    escalated: false,
    decisions: [],
    ruleIds: ['notes-writes'],
    approval: 'default',
    level: 0,
    levels: 2,
    principal: 'alice',
    allowSelfApproval: false,
    editable: ['content'],
    binding,
  });
  const decision = (identity: string, extra = {}) => ({
    approvalId: 'approval-1',
    digest: callDigest(action, binding),
    identity,
    decision: 'approve' as const,
    ...extra,
  });

  test('the principal may not approve its own task, but may reject it', () => {
    expect(checkDecision(request(), decision('alice'))).toBe(
      'alice is the principal of this task and may not approve it',
    );
    expect(checkDecision(request(), decision('alice', { decision: 'reject' }))).toBeNull();
    expect(checkDecision({ ...request(), allowSelfApproval: true }, decision('alice'))).toBeNull();
  });

  test('k of n: two distinct approvers', () => {
    const r = request();
    r.decisions.push({ ...decision('carol'), at: '' });
    expect(approvalOutcome(r)).toBe('pending');
    expect(checkDecision(r, decision('carol'))).toBe('carol has already decided');
    r.decisions.push({ ...decision('dave'), at: '' });
    expect(approvalOutcome(r)).toBe('approved');
  });

  test('edits only of editable arguments, and only with an approval', () => {
    expect(checkDecision(request(), decision('carol', { edits: { path: 'secrets/x' } }))).toBe(
      'path may not be edited (editable: content)',
    );
    expect(checkDecision(request(), decision('carol', { decision: 'reject', edits: { content: 'x' } }))).toBe(
      'only an approval may edit the arguments',
    );
    expect(checkDecision(request(), decision('carol', { edits: { content: 'final' } }))).toBeNull();
  });

  test('the digest binds the tool definition, the arguments and the policy', () => {
    const base = callDigest(action, binding);
    expect(callDigest({ ...action, tool: 'write_files' }, binding)).not.toBe(base);
    expect(callDigest({ ...action, input: { ...action.input, content: 'other' } }, binding)).not.toBe(base);
    expect(callDigest(action, { ...binding, policyHash: 'q'.repeat(64) })).not.toBe(base);
    expect(
      callDigest(action, {
        ...binding,
        definitionHash: definitionHashOf({ ...granted[1]!, description: 'x' }),
      }),
    ).not.toBe(base);
    // golden value: changing it breaks every approval in flight
    expect(base).toBe(callDigest(JSON.parse(JSON.stringify(action)), { ...binding }));
  });
});

describe('policy files in the worker', () => {
  const tools = () => new ToolRegistry().register(...builtinTools({ workspace: dir, httpAllowlist: [] }));
  const file = join(dir, 'policy.yaml');
  const writeFile = (text: string) => writeFileSync(file, text);
  const config = () => parseConfig({ policy: { file: 'policy.yaml' } }, 'config', dir);
  const resolve = (request: Record<string, unknown>, cfg = config()) =>
    resolveTaskSpec(
      cfg,
      new AgentRegistry(),
      tools(),
      'task-1',
      { agent: 'notes-digest', principal: 'bob', ...request },
      currentPolicyFile(cfg), // read as the worker reads it when a task starts
    );
  const refusal = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(TaskRefused);
      return (err as Error).message;
    }
    throw new Error('expected a refusal');
  };

  beforeEach(() => writeFile(EXAMPLE_POLICY));

  test('the config names the file relative to itself; the spec records the policy and the file it came from', () => {
    const spec = resolve({});
    expect(spec.policy).toMatchObject({ evaluation: 'strictest', fallback: 'deny', dataCeiling: 'internal' });
    expect(spec.policySource).toEqual({ file, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(spec.agent.tools.every((t) => /^[0-9a-f]{64}$/.test(t.definitionHash!))).toBe(true);
  });

  test('a bad policy file stops the config from loading, naming the file', () => {
    writeFile('rules: [{ id: x, decision: sometimes }]');
    expect(() => config()).toThrow(`policy file ${file} is invalid:\n  rules[0].decision:`);
  });

  test('a policy file holds the whole policy', () => {
    expect(() =>
      parseConfig(
        { policy: { file: 'policy.yaml', rules: [{ id: 'x', decision: 'allow' }] } },
        'config',
        dir,
      ),
    ).toThrow('policy.file: a policy file holds the whole policy');
  });

  test('each task reads the file again: an edit applies to the next task, a broken edit refuses it', () => {
    const cfg = config();
    const first = resolve({}, cfg);
    writeFile(EXAMPLE_POLICY.replace('quorum: 2', 'quorum: 3'));
    const second = resolve({}, cfg);
    expect(second.policyHash).not.toBe(first.policyHash);
    expect(second.policy.approvals!.default!.quorum).toBe(3);
    writeFile('rules: [{ id: x, decision: sometimes }]');
    expect(refusal(() => resolve({}, cfg))).toContain(`policy file ${file} is invalid`);
  });

  test('a narrowing may add deny and approve rules and lower the ceiling', () => {
    const spec = resolve({
      narrow: {
        policy: {
          dataCeiling: 'public',
          rules: [{ id: 'no-notes', decision: 'deny', tools: ['write_file'], reason: 'not today' }],
        },
      },
    });
    expect(spec.policy.dataCeiling).toBe('public');
    expect(spec.policy.narrowing!.rules[0]!.id).toBe('narrow/no-notes');
  });

  test('a narrowing that would allow what the policy denies is refused, naming both rules', () => {
    const message = refusal(() =>
      resolve({
        narrow: { policy: { rules: [{ id: 'let-me', decision: 'allow', tools: ['write_file'] }] } },
      }),
    );
    expect(message).toBe(
      'narrow.policy.rules[0] (let-me) would allow write_file, which the policy denies (rule no-secrets): a task may narrow its policy, never widen it',
    );
  });

  test('a narrowing that raises the ceiling, or names an approval the policy lacks, is refused', () => {
    expect(refusal(() => resolve({ narrow: { policy: { dataCeiling: 'confidential' } } }))).toBe(
      "narrow.policy.dataCeiling confidential would widen the task: the policy's ceiling is internal",
    );
    expect(
      refusal(() =>
        resolve({ narrow: { policy: { rules: [{ id: 'x', decision: 'approve', approval: 'nope' }] } } }),
      ),
    ).toContain('names approval nope, which the policy does not define');
  });
});
