import { ed25519 } from '@noble/curves/ed25519';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  approvalToSign,
  cancelToSign,
  checkSignature,
  keyFingerprint,
  publicKeyOf,
  signDecision,
  type TrustedKey,
} from '../../src/audit/signing';
import { ensureInstallKey, installKeyPath, loadInstallKey } from '../../src/stores/keys';

const key = ed25519.utils.randomPrivateKey();
const trusted: TrustedKey[] = [{ id: 'door', publicKey: publicKeyOf(key), signsFor: ['*'] }];
const decision = approvalToSign('task-1', {
  runId: 'run-1',
  approvalId: 'approval-2',
  digest: 'a'.repeat(64),
  decision: 'approve',
  identity: 'alice',
  reason: 'fine',
});
const at = '2026-11-27T12:00:00.000Z';

describe('signed decisions', () => {
  test('a decision signed by a trusted key verifies', () => {
    expect(checkSignature(trusted, decision, signDecision(key, 'door', decision, at))).toBeNull();
  });

  test.each([
    ['taskId', 'task-2'],
    ['approvalId', 'approval-3'],
    ['digest', 'b'.repeat(64)],
    ['decision', 'reject'],
    ['identity', 'mallory'],
    ['reason', 'changed'],
  ])('changing %s after signing breaks the signature', (field, value) => {
    const signature = signDecision(key, 'door', decision, at);
    expect(checkSignature(trusted, { ...decision, [field]: value }, signature)).toMatch(/does not match/);
  });

  test('the time is signed too', () => {
    const signature = signDecision(key, 'door', decision, at);
    expect(checkSignature(trusted, decision, { ...signature, at: '2030-01-01T00:00:00.000Z' })).toMatch(
      /does not match/,
    );
  });

  test('no signature, an unknown key, a key limited to other identities, and garbage are refused', () => {
    expect(checkSignature(trusted, decision, undefined)).toMatch(/not signed by a key this worker trusts/);
    expect(checkSignature(trusted, decision, signDecision(key, 'other', decision, at))).toMatch(
      /key other is not trusted/,
    );
    const limited: TrustedKey[] = [{ ...trusted[0]!, signsFor: ['bob'] }];
    expect(checkSignature(limited, decision, signDecision(key, 'door', decision, at))).toBe(
      'key door may not sign for alice',
    );
    expect(checkSignature(trusted, decision, { keyId: 'door', at, sig: 'zz' })).toMatch(/does not match/);
  });

  test('a cancel is signed with its own kind, so an approval signature is no cancel', () => {
    const cancel = cancelToSign('task-1', 'run-1', 'alice', 'stop');
    const approval = signDecision(key, 'door', decision, at);
    expect(checkSignature(trusted, cancel, approval)).toMatch(/does not match/);
    expect(checkSignature(trusted, cancel, signDecision(key, 'door', cancel, at))).toBeNull();
  });

  test('a fingerprint is 16 hex digits of the public key’s sha256', () => {
    expect(keyFingerprint(publicKeyOf(key))).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('the install key', () => {
  test('is made once, readable by its owner only, and the same on every load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-keys-'));
    const made = ensureInstallKey(dir);
    expect(statSync(installKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(ensureInstallKey(dir)).toEqual(made);
    expect(loadInstallKey(dir)).toEqual(made);
    expect(made.keyId).toBe(`install-${keyFingerprint(made.publicKey)}`);
    rmSync(dir, { recursive: true, force: true });
  });
});
