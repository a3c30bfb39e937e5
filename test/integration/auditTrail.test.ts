import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry } from '../../src/audit/chain';
import { verifyTrail } from '../../src/audit/verify';
import { matchHistory, rebuildFromHistory } from '../../src/runtime/auditHistory';
import { taskHistories } from '../../src/runtime/replay';
import { FileAuditStore } from '../../src/stores/auditStore';
import { approveWhenAsked, auditedWriter, scriptReadThenWrite } from '../support/auditedTask';
import { eventually, Harness } from '../support/harness';
import { recordHistory } from '../support/replayRecorder';

// the workers' audit directory starts as a regular file: every write to it fails until the test removes it
const flakyDir = join('/tmp', `steward-audit-flaky-${process.pid}-${Date.now()}`);
const flaky = new Harness({
  auditStore: new FileAuditStore(flakyDir),
  config: { policy: { approval: { approvers: ['alice'] } } },
});
const harness = new Harness({ config: { policy: { approval: { approvers: ['alice'] } } } });
beforeAll(() => Promise.all([harness.start(), flaky.start()]));
afterAll(() => Promise.all([harness.stop(), flaky.stop()]));

const trusted = (h: Harness) => [{ id: h.auditKey.keyId, publicKey: h.auditKey.publicKey }];

describe('the audit trail leaves Temporal, signed', () => {
  test('a task with an approval: its trail is in the store, signed when the approval is asked, at continue-as-new and at the end, and matches its history', async () => {
    scriptReadThenWrite(harness, 'audited.txt');
    const spec = harness.spec(auditedWriter, { input: 'write audited.txt', limits: { stepsPerRun: 2 } });
    const handle = await harness.launch(spec);
    await approveWhenAsked(harness, spec.taskId);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    await recordHistory('audit-exported-last-run', handle);

    const { entries, heads } = await harness.auditStore.read(spec.taskId);
    expect(entries.length).toBe(result.auditEntries);
    expect(entries.at(-1)!.hash).toBe(result.auditHead);
    expect(result.auditSigned).toMatchObject({
      seq: result.auditEntries,
      hash: result.auditHead,
      keyId: harness.auditKey.keyId,
    });
    expect(heads.map((h) => h.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^approval requested/), 'task completed']),
    );
    // stepsPerRun 2: it continued as new, and only the head and unwritten entries travelled
    expect(heads.some((h) => h.reason.startsWith('continued as run'))).toBe(true);
    expect(result.auditUnwritten).toBeUndefined();

    const verdict = verifyTrail({ taskId: spec.taskId, entries, heads, trusted: trusted(harness) });
    expect(verdict).toMatchObject({ ok: true, complete: true, entries: entries.length });

    // the schema's fields: who, what, where, the rule, the approver, usage and cost
    const model = entries.find((e) => e.kind === 'model.called')!;
    expect(model.route).toMatchObject({
      'gen_ai.provider.name': 'mock',
      'gen_ai.response.id': expect.any(String),
    });
    expect(model.usage?.['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(model.cost?.basis).toBe('billed');
    const decided = entries.find((e) => e.kind === 'policy.decided' && e.decision?.effect === 'approve')!;
    expect(decided.action).toMatchObject({
      'gen_ai.tool.name': 'write_file',
      argsDigest: expect.any(String),
    });
    expect(entries.find((e) => e.kind === 'approval.decided')!.actor).toMatchObject({
      approver: 'alice',
      keyId: 'harness',
    });

    // every activity in history is in the trail with the same result digest and worker, and vice versa
    const runs = await taskHistories(harness.client.client, spec.taskId);
    expect(runs.length).toBeGreaterThan(1);
    const match = matchHistory(
      entries,
      runs.map((r) => r.history),
    );
    expect(match).toEqual({ ok: true, activities: expect.any(Number) });
    expect(match.activities).toBeGreaterThanOrEqual(5);

    // the trail rebuilt by replaying each run's history is the stored one, hash for hash
    const rebuilt = await rebuildFromHistory(
      harness.client.client,
      spec.taskId,
      runs.map((r) => r.runId!),
    );
    expect(rebuilt.map((e) => e.hash)).toEqual(entries.map((e) => e.hash));

    // and the history check catches a trail that differs from what ran
    const forged = JSON.parse(JSON.stringify(entries)) as AuditEntry[];
    const tool = forged.find((e) => e.kind === 'tool.completed')!;
    if (tool.outcome?.ok) tool.outcome.resultDigest = '0'.repeat(64);
    expect(
      matchHistory(
        forged,
        runs.map((r) => r.history),
      ),
    ).toMatchObject({
      ok: false,
      firstBad: { seq: tool.seq, reason: expect.stringContaining('result digest differs') },
    });
    const dropped = entries.filter((e) => e.kind !== 'model.called' || e.seq !== model.seq);
    expect(
      matchHistory(
        dropped,
        runs.map((r) => r.history),
      ).ok,
    ).toBe(false);
  });

  test('an audit store that is down loses nothing: the entries wait in the workflow and are written when it is back', async () => {
    writeFileSync(flakyDir, 'not a directory');
    scriptReadThenWrite(flaky, 'flaky.txt');
    const spec = flaky.spec(auditedWriter, { input: 'write flaky.txt' });
    const handle = await flaky.launch(spec);
    await eventually(async () => (await flaky.client.state(spec.taskId)).pendingApproval, 'approval');
    // the export at the approval request failed; the failure itself is in the trail
    const waiting = await flaky.client.audit(spec.taskId);
    expect(waiting.some((e) => e.kind === 'audit.export_failed')).toBe(true);
    rmSync(flakyDir);
    mkdirSync(flakyDir);
    await approveWhenAsked(flaky, spec.taskId);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    await recordHistory('audit-export-failed-then-written', handle);
    const store = new FileAuditStore(flakyDir);
    const { entries, heads } = await store.read(spec.taskId);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: result.auditEntries }, (_, i) => i + 1));
    expect(verifyTrail({ taskId: spec.taskId, entries, heads, trusted: trusted(flaky) })).toMatchObject({
      ok: true,
      complete: true,
    });
  });
});
