import type { DataClass, ToolDescriptor } from '../../src/agents/types';
import { parseConfig } from '../../src/config/load';
import { approvalOutcome, checkDecision, type ApprovalRequest } from '../../src/policies/approval';
import { promptBytesBound, utf8Length } from '../../src/policies/budget';
import { DEFAULT_DATA_BOUNDARIES, evaluateAction } from '../../src/policies/evaluate';
import type { Policy } from '../../src/policies/types';

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
      decisions: [{ approvalId: 'approval-1', digest: 'd', identity: 'alice', decision: 'approve', at: '' }],
    });
    expect(approvalOutcome(approved)).toBe('approved');
    expect(
      checkDecision(approved, { approvalId: 'approval-1', digest: 'd', identity: 'bob', decision: 'reject' }),
    ).toMatch(/already approved/);
  });

  test('after an escalation only the new approvers’ decisions count', () => {
    const escalated = request({
      approvers: ['carol'],
      escalated: true,
      decisions: [{ approvalId: 'approval-1', digest: 'd', identity: 'alice', decision: 'approve', at: '' }],
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
