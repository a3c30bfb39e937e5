import {
  cancelInputSchema,
  decisionInputSchema,
  parseMessage,
  reserveRequestSchema,
  settleInputSchema,
} from '../../src/workflows/messages';

const digest = 'a'.repeat(64);
const decision = { approvalId: 'approval-1', digest, identity: 'alice', decision: 'approve' };
const problem = (schema: Parameters<typeof parseMessage>[0], input: unknown): string => {
  const parsed = parseMessage(schema, input);
  if (parsed.ok) throw new Error(`accepted ${JSON.stringify(input)}`);
  return parsed.problem;
};

describe('the messages a task takes are checked without zod, with the problems zod named', () => {
  test('a decision passes, trimmed, with unknown fields dropped', () => {
    const parsed = parseMessage(decisionInputSchema, { ...decision, identity: ' alice ', extra: 1 });
    expect(parsed).toEqual({ ok: true, value: decision });
    const full = {
      ...decision,
      reason: null,
      edits: { path: 'x' },
      signature: { keyId: 'k', at: 'now', sig: 'b'.repeat(128) },
    };
    expect(parseMessage(decisionInputSchema, full)).toEqual({ ok: true, value: full });
  });

  test.each([
    [null, 'message: Invalid input: expected object, received null'],
    [[], 'message: Invalid input: expected object, received array'],
    [{ ...decision, approvalId: '' }, 'approvalId: Too small: expected string to have >=1 characters'],
    [{ ...decision, digest: 'x' }, 'digest: digest must be a sha256 in hex'],
    [{ ...decision, identity: '   ' }, 'identity: identity is missing'],
    [{ ...decision, identity: [[[]]] }, 'identity: Invalid input: expected string, received array'],
    [
      { ...decision, identity: 'x'.repeat(201) },
      'identity: Too big: expected string to have <=200 characters',
    ],
    [{ ...decision, identity: 'a\u0007b' }, 'identity: identity must be printable text'],
    [{ ...decision, decision: 'maybe' }, 'decision: Invalid option: expected one of "approve"|"reject"'],
    [{ ...decision, reason: 'x'.repeat(2001) }, 'reason: Too big: expected string to have <=2000 characters'],
    [{ ...decision, edits: { '': 1 } }, 'edits: Invalid key in record'],
    [{ ...decision, edits: [1] }, 'edits: Invalid input: expected record, received array'],
    [
      { ...decision, signature: { keyId: 'k', at: 'now', sig: 'zz' } },
      'signature.sig: an Ed25519 signature in hex (128 digits)',
    ],
    [{ approvalId: 'a' }, 'digest: Invalid input: expected string, received undefined'],
  ])('a bad decision is refused with the field named (%#)', (input, expected) => {
    expect(problem(decisionInputSchema, input)).toBe(expected);
  });

  test('a cancel may be empty or carry an identity and a reason', () => {
    expect(parseMessage(cancelInputSchema, undefined)).toEqual({ ok: true, value: undefined });
    expect(parseMessage(cancelInputSchema, null)).toEqual({ ok: true, value: null });
    expect(parseMessage(cancelInputSchema, { identity: 'bob', reason: 'x' })).toEqual({
      ok: true,
      value: { identity: 'bob', reason: 'x' },
    });
    expect(problem(cancelInputSchema, { identity: 'x'.repeat(5000) })).toBe(
      'identity: Too big: expected string to have <=200 characters',
    );
    expect(problem(cancelInputSchema, 5)).toBe('message: Invalid input: expected object, received number');
  });

  test('ledger messages: amounts are finite and bounded', () => {
    const request = { id: 'r', taskId: 't', usd: 1, tokens: 2, cap: { usd: 5 }, expiresAt: 10 };
    expect(parseMessage(reserveRequestSchema, request)).toEqual({ ok: true, value: request });
    expect(problem(reserveRequestSchema, { ...request, usd: -1 })).toBe(
      'usd: Too small: expected number to be >=0',
    );
    expect(problem(reserveRequestSchema, { ...request, cap: { tokens: 1e13 } })).toBe(
      'cap.tokens: Too big: expected number to be <=1000000000000',
    );
    expect(problem(settleInputSchema, { id: 'r', usd: Number.NaN, tokens: 0 })).toBe(
      'usd: Invalid input: expected number, received NaN',
    );
    expect(problem(settleInputSchema, { id: 'r', usd: Infinity, tokens: 0 })).toMatch(/^usd: Invalid input/);
  });
});
