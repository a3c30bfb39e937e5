/**
 * `steward audit verify` on exported files, as an auditor runs it (the real CLI, no Temporal server):
 * a v2 head prints its reason and time as part of the verified result; a v1 head (signed before
 * reasons were) still verifies but prints them marked unsigned; a v2 head whose reason was edited
 * is NOT VERIFIED.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { appendAudit, GENESIS, type AuditEntry } from '../../src/audit/chain';
import { headMessage, publicKeyPem, signHead, type SignedHead } from '../../src/audit/head';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { exportTrail } from '../../src/runtime/auditTrail';
import { runCli, type CliEnv } from '../support/cliProcess';

jest.setTimeout(60_000);

const root = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'audit-heads-cli-'));
const privateKey = ed25519.utils.randomPrivateKey();
const key = { keyId: 'install-heads', publicKey: publicKeyOf(privateKey), privateKey };
const TASK = 'heads-"cli"\\task';

const env: CliEnv = (() => {
  const config = join(root, 'steward.yaml');
  writeFileSync(config, stringify({ signing: { auditKeys: [{ id: key.keyId, publicKey: key.publicKey }] } }));
  // no Temporal server: the signed trail is checked on its own
  return { config, dataDir: join(root, 'data'), cwd: root, extra: { TEMPORAL_ADDRESS: '127.0.0.1:9' } };
})();

function entries(): AuditEntry[] {
  const started = appendAudit(GENESIS, TASK, {
    kind: 'task.started',
    at: '2026-01-01T00:00:00.000Z',
    step: 0,
    data: {},
  });
  const done = appendAudit(started, TASK, {
    kind: 'task.completed',
    at: '2026-01-01T00:00:01.000Z',
    step: 1,
    data: {},
  });
  return [started, done];
}

async function verify(name: string, head: SignedHead) {
  const file = join(root, `${name}.jsonl`);
  writeFileSync(file, exportTrail({ taskId: TASK, entries: entries(), heads: [head] }));
  return runCli(['audit', 'verify', file], env);
}

test('a v2 head: VERIFIED, with its signed reason and time', async () => {
  const head = signHead(key, TASK, entries()[1]!, 'task completed', '2026-01-01T00:00:01.500Z');
  const { code, stdout } = await verify('v2', head);
  expect(code).toBe(0);
  expect(stdout).toContain(`VERIFIED: task ${TASK}, 2 entries`);
  expect(stdout).toContain(
    `signed head at entry 2 by key ${key.keyId} (fingerprint ${keyFingerprint(key.publicKey)}), at task completed, 2026-01-01T00:00:01.500Z`,
  );
});

test('a v2 head with an edited reason: NOT VERIFIED, and the edited reason is not printed', async () => {
  const head = signHead(key, TASK, entries()[1]!, 'task completed', '2026-01-01T00:00:01.500Z');
  const { code, stdout } = await verify('v2-edited', { ...head, reason: 'approval granted: approval-7' });
  expect(code).toBe(1);
  expect(stdout).toMatch(/^NOT VERIFIED/);
  expect(stdout).toContain("broken at entry 2: the head's signature: the signature does not match the head");
  expect(stdout).not.toContain('approval-7');
});

test('a v1 head: VERIFIED, its reason and time marked unsigned', async () => {
  const last = entries()[1]!;
  const message = headMessage(TASK, { seq: last.seq, hash: last.hash });
  const head: SignedHead = {
    type: 'head',
    taskId: TASK,
    seq: last.seq,
    hash: last.hash,
    signedAt: '2026-01-01T00:00:01.500Z',
    reason: 'an edited reason',
    keyId: key.keyId,
    publicKey: key.publicKey,
    publicKeyPem: publicKeyPem(key.publicKey),
    fingerprint: keyFingerprint(key.publicKey),
    signature: Buffer.from(ed25519.sign(new TextEncoder().encode(message), privateKey)).toString('base64'),
  };
  const { code, stdout } = await verify('v1', head);
  expect(code).toBe(0);
  expect(stdout).toContain(
    `signed head at entry 2 by key ${key.keyId} (fingerprint ${keyFingerprint(key.publicKey)}); unsigned (audit-head/v1): reason "an edited reason", time "2026-01-01T00:00:01.500Z"`,
  );
  expect(stdout).not.toMatch(/, at an edited reason/);
});
