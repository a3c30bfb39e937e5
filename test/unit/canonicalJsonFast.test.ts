import fc from 'fast-check';
import { canonicalJson, CanonicalJsonError } from '../../src/audit/canonicalJson';

/**
 * canonicalJson is written for speed (verifying a trail re-encodes every entry). This is the
 * straightforward encoder it replaced, kept as the reference: on any value, the fast one must give
 * the same text, or refuse with the same error, so no audit hash changes.
 */
function referenceCanonicalJson(
  value: unknown,
  limits: { maxDepth?: number; maxChars?: number } = {},
): string {
  const maxDepth = limits.maxDepth ?? 64;
  const maxChars = limits.maxChars ?? 8 * 1024 * 1024;
  let chars = 0;
  const counted = (text: string): string => {
    chars += text.length;
    if (chars > maxChars) throw new CanonicalJsonError(`canonicalJson: value is over ${maxChars} characters`);
    return text;
  };
  const encode = (v: unknown, depth: number): string => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return counted(JSON.stringify(v));
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`canonicalJson: non-finite number ${v}`);
      return counted(JSON.stringify(v));
    }
    if (typeof v !== 'object') throw new CanonicalJsonError(`canonicalJson: cannot encode ${typeof v}`);
    if (depth >= maxDepth)
      throw new CanonicalJsonError(`canonicalJson: value is nested deeper than ${maxDepth} levels`);
    if (Array.isArray(v))
      return `[${v.map((x) => (x === undefined ? counted('null') : encode(x, depth + 1))).join(',')}]`;
    const record = v as Record<string, unknown>;
    const entries = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${counted(JSON.stringify(k))}:${encode(record[k], depth + 1)}`);
    return `{${entries.join(',')}}`;
  };
  return encode(value, 0);
}

type Outcome = { text: string } | { error: string; type: boolean };

function outcome(f: () => string): Outcome {
  try {
    return { text: f() };
  } catch (err) {
    return { error: (err as Error).message, type: err instanceof CanonicalJsonError };
  }
}

/** Any string: all of UTF-16, lone surrogates and controls included. */
const anyString = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });
const key = fc.oneof(anyString, fc.constantFrom('a', 'b', '1', '10', '9', 'é', '\ud83d\ude00', '\ue000', ''));
const leaf = fc.oneof(
  anyString,
  fc.double(), // NaN and ±Infinity included: refused alike
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 24 }), // over 16 keys: the other sort
}));

describe('canonicalJson gives what the straightforward encoder gives', () => {
  test('on random values, texts and refusals alike', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(outcome(() => canonicalJson(v))).toEqual(outcome(() => referenceCanonicalJson(v)));
      }),
      { numRuns: 3000 },
    );
  });

  test('under small depth and size limits, the same refusals', () => {
    fc.assert(
      fc.property(
        value,
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 60 }),
        (v, maxDepth, maxChars) => {
          expect(outcome(() => canonicalJson(v, { maxDepth, maxChars }))).toEqual(
            outcome(() => referenceCanonicalJson(v, { maxDepth, maxChars })),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('values beyond JSON: functions, symbols, bigints, dates, maps, boxed strings, sparse arrays', () => {
    const odd: unknown[] = [
      () => 1,
      Symbol('s'),
      10n,
      { f: () => 1 },
      [Symbol('s')],
      new Date(0),
      new Map([[1, 2]]),
      new String('ab'),
      // eslint-disable-next-line no-sparse-arrays
      [1, , 3],
      Object.create(null, { b: { value: 1, enumerable: true }, a: { value: 2, enumerable: false } }),
      { '10': 1, '9': 2, '1': 3, b: 4, a: 5 },
      { u: undefined, n: null },
    ];
    for (const v of odd)
      expect(outcome(() => canonicalJson(v))).toEqual(outcome(() => referenceCanonicalJson(v)));
  });
});
