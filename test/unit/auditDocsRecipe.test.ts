import { ed25519 } from '@noble/curves/ed25519';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendAudit, GENESIS } from '../../src/audit/chain';
import { headMessage, publicKeyPem, signHead, type SignedHead } from '../../src/audit/head';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';

/**
 * The openssl recipe of docs/audit.md, run as written (the bash block is read from the page) on real
 * signed heads, v2 and v1, for task ids with quotes and backslashes: it verifies the heads as signed
 * and refuses one whose reason was edited.
 */

const DOCS = join(__dirname, '..', '..', 'docs', 'audit.md');
const privateKey = ed25519.utils.randomPrivateKey();
const key = { keyId: 'install-docs', publicKey: publicKeyOf(privateKey), privateKey };
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-audit-recipe-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The bash block after "With OpenSSL 3 and jq", as a reader would paste it. */
function recipe(): string {
  const page = readFileSync(DOCS, 'utf8');
  const at = page.indexOf('With OpenSSL 3 and jq');
  expect(at).toBeGreaterThan(0);
  const block = /```bash\n([\s\S]*?)```/.exec(page.slice(at));
  expect(block).not.toBeNull();
  return block![1]!;
}

function runRecipe(head: SignedHead) {
  writeFileSync(join(dir, 'head.json'), `${JSON.stringify(head)}\n`);
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', recipe()], { cwd: dir, encoding: 'utf8' });
  return {
    status: run.status,
    out: `${run.stdout}${run.stderr}`.trim(),
    message: readFileSync(join(dir, 'message'), 'utf8'),
  };
}

function headFor(taskId: string): SignedHead {
  const entry = appendAudit(GENESIS, taskId, {
    kind: 'task.completed',
    at: '2026-01-01T00:00:00.000Z',
    step: 0,
    data: {},
  });
  return signHead(key, taskId, entry, 'approval granted: "approval-1" \\ ok', '2026-01-01T00:00:00.500Z');
}

const TASK_IDS = [
  'plain-task',
  'task-with-"quotes"',
  'back\\slash\\',
  'both"\\"mixed',
  'caf\u00e9 \u{1f600}',
];

test.each(TASK_IDS)('a v2 head of task %j verifies with the documented commands', (taskId) => {
  const head = headFor(taskId);
  const result = runRecipe(head);
  expect(result.message).toBe(headMessage(taskId, head));
  expect({ status: result.status, out: result.out }).toEqual({
    status: 0,
    out: 'Signature Verified Successfully',
  });
});

test.each(TASK_IDS)('a v2 head of task %j with its reason edited fails the documented commands', (taskId) => {
  const result = runRecipe({ ...headFor(taskId), reason: 'task completed' });
  expect(result.status).not.toBe(0);
  expect(result.out).toContain('Signature Verification Failure');
});

test('a v1 head (signed before reasons were) verifies with the same commands', () => {
  const taskId = 'old"\\task';
  const entry = appendAudit(GENESIS, taskId, {
    kind: 'task.completed',
    at: '2026-01-01T00:00:00.000Z',
    step: 0,
    data: {},
  });
  const message = headMessage(taskId, entry);
  const head: SignedHead = {
    type: 'head',
    taskId,
    seq: entry.seq,
    hash: entry.hash,
    signedAt: '2026-01-01T00:00:00.500Z',
    reason: 'task completed',
    keyId: key.keyId,
    publicKey: key.publicKey,
    publicKeyPem: publicKeyPem(key.publicKey),
    fingerprint: keyFingerprint(key.publicKey),
    signature: Buffer.from(ed25519.sign(new TextEncoder().encode(message), privateKey)).toString('base64'),
  };
  const result = runRecipe(head);
  expect(result.message).toBe(message);
  expect({ status: result.status, out: result.out }).toEqual({
    status: 0,
    out: 'Signature Verified Successfully',
  });
});
