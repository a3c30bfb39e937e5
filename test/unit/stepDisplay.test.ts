/**
 * One step sequence in every display: an approval shows the step it gates (the one about to run),
 * in the CLI's prompt and progress lines, `status`, `steward audit` and the lane's timeline; and the
 * prompt shows text arguments as text.
 */
import type { AuditEntry } from '../../src/audit/chain';
import { timelineOf } from '../../src/api/timeline';
import { decisionsOf } from '../../src/policies/explain';
import { entryLine } from '../../src/cli/commands/audit';
import { approvalText, argumentLines, progressLine, stateText } from '../../src/cli/format';
import { stepOfEntry, stepOfTask } from '../../src/shared/steps';
import type { TaskState } from '../../src/workflows/contract';

const DRAFT = '# Digest\n\nAlice owns the release notes.\nBob fixes the flaky test.\n';

/** A task that has begun 3 steps and waits for approval of its 4th, as the workflow records it. */
function waitingState(): TaskState {
  return {
    taskId: 't-1',
    agent: 'notes-digest',
    principal: 'alice',
    status: 'awaiting_approval',
    step: 3,
    spendUsd: 0.001,
    budgetUsd: 1,
    dataClass: 'internal',
    startedAt: '2026-12-08T00:00:00.000Z',
    deadline: '2026-12-08T01:00:00.000Z',
    audit: { entries: 9, head: 'ab'.repeat(32) },
    pendingApproval: {
      id: 'approval-4',
      step: 4,
      digest: 'cd'.repeat(32),
      action: { tool: 'write_file', input: { path: 'notes/digest.md', content: DRAFT } },
      approvers: ['alice'],
      quorum: 1,
      requestedAt: '2026-12-08T00:00:01.000Z',
      deadline: '2026-12-08T00:30:00.000Z',
      onExpiry: 'stop',
      escalated: false,
      decisions: [],
      ruleIds: [],
      runId: 'run-1',
    },
  } as unknown as TaskState;
}

function entry(seq: number, kind: string, step: number, data: Record<string, unknown>): AuditEntry {
  const at = `2026-12-08T00:00:0${seq}.000Z`;
  return { seq, kind, at, step, data, prevHash: '0', hash: String(seq) } as unknown as AuditEntry;
}

// the trail around an approval as the workflow writes it: its entries carry the steps begun so far
const trail = [
  entry(1, 'model.called', 3, { model: 'm', provider: 'p', route: 'r', costUsd: 0 }),
  entry(2, 'approval.requested', 3, { id: 'approval-4', tool: 'write_file', approvers: ['alice'] }),
  entry(3, 'approval.decided', 3, { id: 'approval-4', identity: 'alice', decision: 'approve' }),
  entry(4, 'tool.completed', 4, { tool: 'write_file', costUsd: 0 }),
];

test('approval entries are on the step they gate; every other entry on its own', () => {
  expect(trail.map(stepOfEntry)).toEqual([3, 4, 4, 4]);
  // a refusal names no request of its own (it may arrive at any time): it stays where it was recorded
  expect(stepOfEntry(entry(5, 'approval.refused', 3, { approvalId: 'approval-9' }))).toBe(3);
  expect(stepOfEntry(entry(5, 'approval.decided', 3, { id: 'unexpected' }))).toBe(3);
});

test('the CLI says "step 4 approved" and then "step 4 tool", and status says step 4 awaiting approval', () => {
  const lines = trail.map((e) => progressLine(e, 0)).filter(Boolean) as string[];
  expect(lines.map((l) => /step +(\d+) {2}(\S+)/.exec(l)?.slice(1, 3))).toEqual([
    ['3', 'model:'],
    ['4', 'approved'],
    ['4', 'tool:'],
  ]);
  const state = waitingState();
  expect(stepOfTask(state)).toBe(4);
  expect(stateText(state)).toMatch(/^ {2}step: 4 awaiting approval · spend/m);
  expect(stateText({ ...state, pendingApproval: undefined, status: 'running' } as TaskState)).toMatch(
    /^ {2}step: 3 · spend/m,
  );
});

test('steward audit, policy explain and the lane timeline put the decision on the step it approved', () => {
  expect(entryLine(trail[2]!)).toMatch(/ step 4 +approval\.decided /);
  expect(entryLine(trail[0]!)).toMatch(/ step 3 +model\.called /);
  const approval = timelineOf(trail).items.find((i) => i.kind === 'approval');
  expect(approval?.step).toBe(4);
  // steward policy explain too
  expect(decisionsOf(trail).map((d) => [d.kind, d.step])).toEqual([
    ['approval.requested', 4],
    ['approval.decided', 4],
  ]);
});

test('the approval prompt names the step and shows a draft as its lines, not a JSON string', () => {
  const text = approvalText(waitingState());
  expect(text).toContain('  Approval needed (approval-4): write_file · step 4');
  expect(text).not.toContain('\\n');
  expect(text).toContain(
    [
      '      path: notes/digest.md',
      '      content:',
      '        │ # Digest',
      '        │ ',
      '        │ Alice owns the release notes.',
      '        │ Bob fixes the flaky test.',
    ].join('\n'),
  );
});

test('arguments that are not text stay JSON; control characters in text are shown escaped', () => {
  expect(argumentLines({ n: 3, tags: ['a'], ok: true }, '  ')).toEqual([
    '  n: 3',
    '  tags: [',
    '    "a"',
    '  ]',
    '  ok: true',
  ]);
  expect(argumentLines('just a string', '  ')).toEqual(['  "just a string"']);
  // an escape sequence or a carriage return in a draft could repaint the prompt; a tab is only text
  const lines = argumentLines({ content: 'fine\n\u001b[2Kapproved: yes\rtab\there\u202e' }, '');
  expect(lines).toEqual(['content:', '  │ fine', '  │ \\u001b[2Kapproved: yes\\u000dtab\there\\u202e']);
});
