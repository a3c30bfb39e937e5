import { ed25519 } from '@noble/curves/ed25519';
import { checkReserve, checkSettle, signReserve, signSettle } from '../../src/audit/ledgerSigning';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { capOf } from '../../src/activities/spend';
import { committed, emptyLedger, expire, reserve, settle, utcDay } from '../../src/policies/ledger';
import { parseConfig } from '../../src/config/load';

function key() {
  const privateKey = ed25519.utils.randomPrivateKey();
  const publicKey = publicKeyOf(privateKey);
  return { keyId: `k-${keyFingerprint(publicKey)}`, publicKey, privateKey };
}

const worker = key();
const stranger = key();
const trusted = [worker.publicKey];
const account = 'principal:alice';
const reservation = {
  id: 't1:1:primary',
  taskId: 't1',
  usd: 0.002,
  tokens: 900,
  cap: { usd: 0.01 },
  expiresAt: 1e13,
};

describe('signed settlements', () => {
  const body = { id: 't1:1:primary', usd: 0.000123, tokens: 140 };

  test('a worker-signed settlement verifies for its account, reservation, cost and tokens', () => {
    expect(checkSettle(trusted, account, body, signSettle(worker, account, body))).toBeNull();
  });

  test.each([
    ['another account', { account: 'principal:bob' }],
    ['a lower cost', { usd: 0 }],
    ['fewer tokens', { tokens: 0 }],
    ['another reservation', { id: 't1:2:primary' }],
  ])('a signature moved to %s does not verify', (_, change) => {
    const signature = signSettle(worker, account, body);
    const { account: to = account, ...fields } = change as { account?: string };
    expect(checkSettle(trusted, to, { ...body, ...fields }, signature)).toMatch(/does not match/);
  });

  test('unsigned, signed by an untrusted key, or with a broken signature: refused, saying why', () => {
    expect(checkSettle(trusted, account, body, undefined)).toBe('not signed by a worker');
    expect(checkSettle(trusted, account, body, signSettle(stranger, account, body))).toMatch(
      /which this ledger's worker does not trust/,
    );
    // a stranger claiming the worker's public key: the signature is checked against that key
    const claimed = { ...signSettle(stranger, account, body), publicKey: worker.publicKey };
    expect(checkSettle(trusted, account, body, claimed)).toMatch(/does not match/);
    const broken = { ...signSettle(worker, account, body), sig: 'zz' };
    expect(checkSettle(trusted, account, body, broken)).toMatch(/does not match/);
  });
});

describe('signed reservations', () => {
  test('the reservation with its cap verifies; a raised cap or a lowered amount does not', () => {
    const signature = signReserve(worker, account, reservation);
    expect(checkReserve(trusted, account, reservation, signature)).toBeNull();
    expect(checkReserve(trusted, account, { ...reservation, cap: { usd: 1e9 } }, signature)).toMatch(
      /does not match/,
    );
    expect(checkReserve(trusted, account, { ...reservation, usd: 0 }, signature)).toMatch(/does not match/);
    expect(checkReserve(trusted, account, reservation, undefined)).toBe('not signed by a worker');
  });
});

describe('the ledger charges the reservation unless a cost is proven', () => {
  const now = Date.UTC(2026, 11, 8, 12);
  const today = utcDay(now);

  test('an unproven settle (undefined) charges the full reservation, a proven one what it says', () => {
    const state = emptyLedger();
    expect(reserve(state, reservation, now)).toMatchObject({ granted: true });
    expect(reserve(state, { ...reservation, id: 't1:2:primary' }, now)).toMatchObject({ granted: true });
    settle(state, 't1:1:primary'); // a forged { usd: 0 }, as the ledger passes it on
    settle(state, 't1:2:primary', { usd: 0.0001, tokens: 50 }); // signed by the model activity
    expect(committed(state, today)).toEqual({ usd: 0.0021, tokens: 950 });
    expect(state.settled).toEqual(['t1:1:primary', 't1:2:primary']);
  });

  test('a reservation nobody settles is charged in full at its expiry', () => {
    const state = emptyLedger();
    reserve(state, { ...reservation, expiresAt: now + 10 }, now);
    expect(expire(state, now + 10)).toEqual(['t1:1:primary']);
    expect(committed(state, today)).toEqual({ usd: 0.002, tokens: 900 });
  });
});

describe('the cap a worker signs is its own configuration’s', () => {
  const config = parseConfig({
    budgets: { principal: { dailyUsd: 5, dailyTokens: 1000 }, agent: { dailyUsd: 50 } },
  });

  test('principal and agent accounts get their configured caps; anything else is uncapped', () => {
    expect(capOf(config, 'principal:alice')).toEqual({ usd: 5, tokens: 1000 });
    expect(capOf(config, 'agent:notes-digest')).toEqual({ usd: 50 });
    expect(capOf(config, 'other:x')).toEqual({});
    expect(capOf(parseConfig({}), 'principal:alice')).toEqual({});
  });
});
