/**
 * A task whose worker process is killed with SIGKILL in the middle of a tool call and which finishes on
 * another worker process has one unbroken audit trail: the two processes share the audit store (files
 * in one directory) and each signs heads with its own key; what the first wrote before it died and what
 * the second wrote after it link up, with no sequence number twice or missing, and match the history.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex } from '@noble/hashes/utils';
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { verifyTrail } from '../../src/audit/verify';
import { matchHistory, rebuildFromHistory } from '../../src/runtime/auditHistory';
import { StewardClient } from '../../src/runtime/client';
import { taskHistories } from '../../src/runtime/replay';
import { FileAuditStore } from '../../src/stores/auditStore';
import { eventually, testAddress, uniqueName } from '../support/harness';
import { startWorkerProcess, stopWorkerProcesses } from '../support/workerChild';
import { LedgerServer } from '../support/ledgerServer';
import { chargeTwiceAgent } from '../support/slowCharge';

/** A worker's own signing key: its private half for the process, its public half for the verifier. */
function workerKey(): { hex: string; trusted: { id: string; publicKey: string } } {
  const privateKey = ed25519.utils.randomPrivateKey();
  const publicKey = publicKeyOf(privateKey);
  return { hex: bytesToHex(privateKey), trusted: { id: `worker-${keyFingerprint(publicKey)}`, publicKey } };
}

test('a worker killed mid-tool and replaced: the task has one unbroken, signed trail that matches its history', async () => {
  const ledger = await new LedgerServer().start();
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'audit-kill-'));
  const auditDir = join(dir, 'audit');
  const taskQueue = uniqueName('audit-kill');
  const env = {
    TASK_QUEUE: taskQueue,
    WORKSPACE: dir,
    BLOB_DIR: join(dir, 'blobs'),
    LEDGER_URL: ledger.url,
    TEMPORAL_ADDRESS: testAddress(),
    AUDIT_DIR: auditDir,
  };
  const [key1, key2] = [workerKey(), workerKey()];
  const store = new FileAuditStore(auditDir);
  // a run per step: the trail is exported and signed at each continue-as-new, so the first worker has
  // written part of it before it dies
  const taskId = uniqueName('charge-twice');
  const request = {
    agent: chargeTwiceAgent.name,
    principal: 'bob',
    taskId,
    narrow: { limits: { stepsPerRun: 1 } },
  };
  const connection = await Connection.connect({ address: testAddress() });
  const client = new StewardClient(new Client({ connection }), taskQueue);
  const first = await startWorkerProcess({ ...env, AUDIT_KEY: key1.hex });
  let second: ChildProcess | undefined;
  try {
    const handle = await client.start(request);
    // the second charge went through (the first is done and exported); its tool is still running
    await eventually(async () => (ledger.effects.size === 2 ? true : undefined), 'the second charge');
    const before = await store.read(taskId);
    expect(before.entries.length).toBeGreaterThan(0);
    expect(before.heads.some((h) => h.keyId === key1.trusted.id)).toBe(true);
    const killed = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await killed;
    expect(first.signalCode).toBe('SIGKILL');

    second = await startWorkerProcess({ ...env, AUDIT_KEY: key2.hex });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'charges 1 and 2' });
    expect(ledger.effects.size).toBe(2);

    const { entries, heads } = await store.read(taskId);
    // one chain: every seq once, in order, the stored part before the kill its unchanged beginning
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: result.auditEntries }, (_, i) => i + 1));
    expect(entries.slice(0, before.entries.length)).toEqual(before.entries);
    expect(entries.at(-1)!.hash).toBe(result.auditHead);
    expect(result.auditUnwritten).toBeUndefined();
    // heads signed by both workers, the last (the end) by the one that finished it
    expect(new Set(heads.map((h) => h.keyId))).toEqual(new Set([key1.trusted.id, key2.trusted.id]));
    expect(heads.at(-1)).toMatchObject({
      keyId: key2.trusted.id,
      seq: entries.length,
      reason: 'task completed',
    });
    const verdict = verifyTrail({ taskId, entries, heads, trusted: [key1.trusted, key2.trusted] });
    expect(verdict).toMatchObject({ ok: true, complete: true, entries: entries.length });
    // a verifier that trusts only one of the two keys refuses the trail
    expect(verifyTrail({ taskId, entries, heads, trusted: [key2.trusted] }).ok).toBe(false);

    // the trail has every activity of every run, with the worker that finally ran it
    const runs = await taskHistories(client.client, taskId);
    expect(runs.length).toBeGreaterThan(1);
    const match = matchHistory(
      entries,
      runs.map((r) => r.history),
    );
    expect(match).toEqual({ ok: true, activities: expect.any(Number) });
    const charges = entries.filter((e) => e.kind === 'tool.completed');
    expect(charges).toHaveLength(2);
    expect(charges[0]!.route?.worker).not.toBe(charges[1]!.route?.worker);
    // and replaying each run on the surviving worker rebuilds it, hash for hash
    const rebuilt = await rebuildFromHistory(
      client.client,
      taskId,
      runs.map((r) => r.runId!),
    );
    expect(rebuilt.map((e) => e.hash)).toEqual(entries.map((e) => e.hash));
  } finally {
    await stopWorkerProcesses([first, second]);
    await connection.close();
    await ledger.stop();
  }
}, 120_000);
