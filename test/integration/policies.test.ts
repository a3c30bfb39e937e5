import { WorkflowUpdateFailedError } from '@temporalio/client';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentDefinition } from '../../src/agents/definition';
import { verifyAudit } from '../../src/audit/chain';
import type { LoadedConfig } from '../../src/config/load';
import { decisionsOf } from '../../src/policies/explain';
import type { TaskStart } from '../support/harness';
import { eventually, Harness, uniqueName } from '../support/harness';
import { runCli, stopAllCli, type CliEnv } from '../support/cliProcess';
import { recordHistory } from '../support/replayRecorder';

/** Writes notes/<name> with the content it is given, through the policy; no model involved. */
const noteWriter: AgentDefinition = {
  name: 'test-note-writer',
  description: 'writes one note under a policy file',
  instructions: 'Write the note.',
  tools: ['read_file', 'write_file'],
  plan: [
    {
      id: 'write',
      kind: 'tool',
      tool: 'write_file',
      input: { path: '{{input.path}}', content: '{{input.content}}' },
    },
    { id: 'done', kind: 'finish', result: 'wrote {{input.path}}' },
  ],
};

const POLICY = `
roles:
  alice: [reviewer]
  carol: [reviewer]
  dave: [reviewer]
  erin: [manager]
  frank: [manager]
rules:
  - { id: reads, decision: allow, effects: [read] }
  - id: notes-need-review
    decision: approve
    tools: [write_file]
    args: { path: { glob: "notes/**" } }
  - id: no-secrets
    decision: deny
    tools: [read_file, write_file]
    args: { path: { glob: "secrets/**" } }
    reason: secrets stay where they are
approvals:
  default:
    roles: [reviewer]
    quorum: 2
    timeoutSeconds: 600
    editable: [content]
`;

const ESCALATING = POLICY.replace(
  /approvals:[\s\S]*$/,
  `approvals:
  default:
    roles: [reviewer]
    timeoutSeconds: 1
    escalation:
      - { roles: [manager], timeoutSeconds: LEVEL2 }
`,
);

const harness = new Harness();
beforeAll(async () => {
  await harness.start();
  mkdirSync(join(harness.workspace, 'notes'), { recursive: true });
});
afterAll(async () => {
  await stopAllCli();
  await harness.stop();
});

/** A finished task that got a quorum, for `steward policy explain`. */
let quorumTask = '';

/** A worker configuration whose policy is the file holding `text` (each call: a file of its own). */
function policyConfig(text: string): { config: LoadedConfig; file: string } {
  const file = join(harness.dir, `${uniqueName('policy')}.yaml`);
  writeFileSync(file, text);
  const base = harness.config();
  return { config: { ...base, policy: { ...base.policy, file } }, file };
}

function task(config: LoadedConfig, principal: string, path: string, content = 'hello'): TaskStart {
  return harness.spec(noteWriter, { principal, input: { path, content } }, config);
}

async function pendingApproval(taskId: string, check = (p: { level?: number }) => p.level !== undefined) {
  return eventually(async () => {
    const pending = (await harness.client.state(taskId)).pendingApproval;
    return pending && check(pending) ? pending : undefined;
  }, 'the approval request');
}

/** The validator's reason for a refused decision. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => {
      throw new Error('expected the decision to be refused');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as Error).cause as Error | undefined;
  return cause?.message ?? (err as Error).message;
}

describe('policy files on a real Temporal dev server', () => {
  test('2-of-3 quorum by role: one approval is not enough, an identity without the role is refused, two are', async () => {
    const { config, file } = policyConfig(POLICY);
    const start = task(config, 'bob', 'notes/quorum.md');
    quorumTask = start.taskId;
    const handle = await harness.launch(start);
    const pending = await pendingApproval(start.taskId);
    expect(pending).toMatchObject({
      approvers: ['alice', 'carol', 'dave'],
      quorum: 2,
      approval: 'default',
      levels: 1,
      editable: ['content'],
      ruleIds: ['notes-need-review'],
      binding: { policyHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });

    expect(await harness.client.decide(start.taskId, { identity: 'alice', decision: 'approve' })).toEqual({
      approvalId: pending.id,
      outcome: 'pending',
    });
    expect(
      await refusal(harness.client.decide(start.taskId, { identity: 'erin', decision: 'approve' })),
    ).toBe('erin may not approve this request');
    expect(
      await refusal(harness.client.decide(start.taskId, { identity: 'alice', decision: 'approve' })),
    ).toBe('alice has already decided');
    expect(await harness.client.decide(start.taskId, { identity: 'carol', decision: 'approve' })).toEqual({
      approvalId: pending.id,
      outcome: 'approved',
    });
    expect(await handle.result()).toMatchObject({ status: 'completed', result: 'wrote notes/quorum.md' });
    expect(readFileSync(join(harness.workspace, 'notes/quorum.md'), 'utf8')).toBe('hello');

    const audit = await harness.client.audit(start.taskId);
    expect(verifyAudit(audit)).toMatchObject({ ok: true });
    const started = audit.find((e) => e.kind === 'task.started')!;
    expect(started.data).toMatchObject({
      policyHash: pending.binding!.policyHash,
      policySource: { file, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    // what `steward policy explain` prints: every decision with the rules that made it
    const decisions = decisionsOf(audit);
    expect(decisions.find((d) => d.kind === 'policy.decided')).toMatchObject({
      ruleIds: ['notes-need-review'],
      text: 'write_file: approve (approval default): rule notes-need-review',
    });
    expect(decisions.filter((d) => d.kind === 'approval.decided').map((d) => d.text)).toEqual([
      `${pending.id}: approved by alice`,
      `${pending.id}: approved by carol`,
    ]);
    await recordHistory('policy-file-quorum', handle);
  });

  test('the principal may not approve its own task; two other reviewers can', async () => {
    const { config } = policyConfig(POLICY);
    const start = task(config, 'alice', 'notes/self.md');
    const handle = await harness.launch(start);
    const pending = await pendingApproval(start.taskId);
    expect(pending).toMatchObject({ principal: 'alice', allowSelfApproval: false });
    expect(
      await refusal(harness.client.decide(start.taskId, { identity: 'alice', decision: 'approve' })),
    ).toBe('alice is the principal of this task and may not approve it');
    await harness.client.decide(start.taskId, { identity: 'carol', decision: 'approve' });
    await harness.client.decide(start.taskId, { identity: 'dave', decision: 'approve' });
    expect(await handle.result()).toMatchObject({ status: 'completed' });
  });

  test('after its deadline the request escalates to a second role, whose member approves', async () => {
    const { config } = policyConfig(ESCALATING.replace('LEVEL2', '60'));
    const start = task(config, 'bob', 'notes/escalated.md');
    const handle = await harness.launch(start);
    const escalated = await pendingApproval(start.taskId, (p) => p.level === 1);
    expect(escalated).toMatchObject({ approvers: ['erin', 'frank'], escalated: true, onExpiry: 'stop' });
    expect(
      await refusal(harness.client.decide(start.taskId, { identity: 'alice', decision: 'approve' })),
    ).toBe('alice may not approve this request');
    await harness.client.decide(start.taskId, { identity: 'erin', decision: 'approve' });
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    const kinds = (await harness.client.audit(start.taskId)).map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['approval.requested', 'approval.escalated', 'approval.decided']),
    );
    await recordHistory('policy-file-escalation', handle);
  });

  test('at the end of the escalation chain the task stops with approval_expired', async () => {
    const { config } = policyConfig(ESCALATING.replace('LEVEL2', '1'));
    const start = task(config, 'bob', 'notes/expired.md');
    const result = await (await harness.launch(start)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'approval_expired' });
    const kinds = (await harness.client.audit(start.taskId)).map((e) => e.kind);
    expect(kinds.filter((k) => k.startsWith('approval.'))).toEqual([
      'approval.requested',
      'approval.escalated',
      'approval.expired',
    ]);
  });

  test('an approver edits an editable argument: a new digest, audited; earlier approvals no longer count; the tool runs with the edit', async () => {
    const { config } = policyConfig(POLICY);
    const start = task(config, 'bob', 'notes/edited.md', 'first draft');
    const handle = await harness.launch(start);
    const pending = await pendingApproval(start.taskId);
    await harness.client.decide(start.taskId, { identity: 'alice', decision: 'approve' });
    expect(
      await refusal(
        harness.client.decide(start.taskId, {
          identity: 'carol',
          decision: 'approve',
          edits: { path: 'secrets/x' },
        }),
      ),
    ).toBe('path may not be edited (editable: content)');
    const edited = await harness.client.decide(start.taskId, {
      identity: 'carol',
      decision: 'approve',
      edits: { content: 'final text' },
    });
    expect(edited.outcome).toBe('pending'); // alice approved the first draft, not this
    const now = (await harness.client.state(start.taskId)).pendingApproval!;
    expect(now.digest).not.toBe(pending.digest);
    expect(now.action.input).toEqual({ path: 'notes/edited.md', content: 'final text' });
    // a decision about the old call is refused
    expect(
      await refusal(
        harness.client.decide(start.taskId, {
          identity: 'dave',
          decision: 'approve',
          approvalId: pending.id,
          digest: pending.digest,
        }),
      ),
    ).toContain('digest does not match');
    await harness.client.decide(start.taskId, { identity: 'dave', decision: 'approve' });
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    expect(readFileSync(join(harness.workspace, 'notes/edited.md'), 'utf8')).toBe('final text');
    const editEntry = (await harness.client.audit(start.taskId)).find((e) => e.kind === 'approval.edited')!;
    expect(editEntry.data).toEqual({
      id: pending.id,
      identity: 'carol',
      fields: ['content'],
      previousDigest: pending.digest,
      digest: now.digest,
    });
    await recordHistory('policy-file-edited-approval', handle);
  });

  test('a deny rule on the path wins over the rules that would ask for approval', async () => {
    const { config } = policyConfig(POLICY);
    const start = task(config, 'bob', 'notes/../secrets/key');
    const result = await (await harness.launch(start)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'denied' });
    expect(result.detail).toContain('secrets stay where they are');
    const decided = (await harness.client.audit(start.taskId)).find((e) => e.kind === 'policy.decided')!;
    expect(decided.data).toMatchObject({ decision: 'deny', ruleIds: ['no-secrets'] });
  });
});

describe('refused with a clear message', () => {
  test('a malformed policy file: the task is refused naming the file, the path and what was expected', async () => {
    const { config, file } = policyConfig(POLICY);
    // the worker started with a good file; the edit breaks it: the next task is refused, not run
    expect(await (await harness.launch(task(config, 'bob', 'elsewhere.md'))).result()).toMatchObject({
      stopReason: 'denied', // default: deny
    });
    writeFileSync(file, POLICY.replace('decision: approve', 'decision: maybe'));
    const start = task(config, 'bob', 'notes/never.md');
    const result = await (await harness.launch(start)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(result.detail).toContain(`policy file ${file} is invalid:`);
    expect(result.detail).toMatch(/rules\[1\]\.decision: .*"allow"\|"deny"\|"approve"/);
  });

  test('a narrowing that would widen the policy: refused at start, naming the rules', async () => {
    const { config } = policyConfig(POLICY);
    const start = {
      ...task(config, 'bob', 'secrets/key'),
      narrow: {
        policy: { rules: [{ id: 'let-me-write', decision: 'allow' as const, tools: ['write_file'] }] },
      },
    };
    const result = await (await harness.launch(start)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(result.detail).toBe(
      'narrow.policy.rules[0] (let-me-write) would allow write_file, which the policy denies (rule no-secrets): a task may narrow its policy, never widen it',
    );
  });

  test('a narrowing that tightens is applied: its deny rule stops what the policy would let through', async () => {
    const { config } = policyConfig(POLICY);
    const start = {
      ...task(config, 'bob', 'notes/narrowed.md'),
      narrow: {
        policy: {
          rules: [
            { id: 'no-notes', decision: 'deny' as const, tools: ['write_file'], reason: 'not in this task' },
          ],
        },
      },
    };
    const result = await (await harness.launch(start)).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'denied' });
    expect(result.detail).toContain('not in this task');
  });
});

describe('the steward policy command', () => {
  const cli = (): CliEnv => {
    const config = join(harness.dir, 'cli-steward.yaml');
    writeFileSync(config, `tools: { workspace: ${harness.workspace} }\n`);
    return { config, dataDir: join(harness.dir, 'data'), cwd: harness.dir };
  };

  test('policy check: valid, its approvals, and what each sample action gets with the rules that decided', async () => {
    const { file } = policyConfig(POLICY);
    const samples = join(harness.dir, 'samples.yaml');
    writeFileSync(
      samples,
      [
        '- { tool: read_file, args: { path: notes/a.md }, expect: allow }',
        '- { tool: write_file, args: { path: notes/b.md, content: x }, principal: bob, expect: approve }',
        '- { tool: write_file, args: { path: notes/../secrets/k, content: x }, expect: deny }',
      ].join('\n'),
    );
    const ok = await runCli(['policy', 'check', file, '--actions', samples], cli());
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${file}: valid`);
    expect(ok.stdout).toContain('approval default: 2 of alice, carol, dave within 600 s, then stop');
    expect(ok.stdout).toContain('→ approve: rule notes-need-review   [notes-need-review]');
    expect(ok.stdout).toContain('→ deny: secrets stay where they are   [no-secrets]');

    writeFileSync(samples, '- { tool: write_file, args: { path: x.md, content: x }, expect: allow }');
    const failing = await runCli(['policy', 'check', file, '--actions', samples], cli());
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('✗ expected allow');

    writeFileSync(file, 'rules: [{ id: x, decision: sometimes }]');
    const bad = await runCli(['policy', 'check', file], cli());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`steward: policy file ${file} is invalid:\n  rules[0].decision:`);
  }, 30_000); // three CLI processes: each starts in seconds on a loaded machine

  test('policy explain: every decision the task got, with rule ids', async () => {
    expect(quorumTask).not.toBe('');
    const { code, stdout } = await runCli(['policy', 'explain', quorumTask], cli());
    expect(code).toBe(0);
    expect(stdout).toContain(`task ${quorumTask}:`);
    expect(stdout).toMatch(
      /write_file: approve \(approval default\): rule notes-need-review {3}\[notes-need-review\]/,
    );
    expect(stdout).toMatch(/approval-1: approval of write_file asked of alice, carol, dave, 2 needed/);
    expect(stdout).toContain('approval-1: approved by alice');
    expect(stdout).toContain('approval-1: approved by carol');
    expect(stdout).toContain('completed');
  });
});
