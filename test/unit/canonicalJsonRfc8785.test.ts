import { canonicalJson, CanonicalJsonError } from '../../src/audit/canonicalJson';

/**
 * canonicalJson against the examples of RFC 8785, the JSON Canonicalization Scheme (JCS). The RFC
 * canonicalizes parsed JSON, so each input is the RFC's JSON text, read with JSON.parse.
 */

/** The double whose IEEE 754 bits are `hex` (RFC 8785 Appendix B lists numbers this way). */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

const hex = (text: string): string => Buffer.from(new TextEncoder().encode(text)).toString('hex');

describe('RFC 8785 §3.2.2–3.2.4: numbers, string escaping and literals', () => {
  const input = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`;
  const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;

  test('the parsed example canonicalizes to the RFC’s output (§3.2.3)', () => {
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  test('its UTF-8 bytes are the RFC’s (§3.2.4)', () => {
    const rfcBytes =
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c 22 6e ' +
      '75 6d 62 65 72 73 22 3a 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 65 2b 33 30 ' +
      '2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 ' +
      '5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d';
    expect(hex(canonicalJson(JSON.parse(input)))).toBe(rfcBytes.replace(/ /g, ''));
  });

  test('each part on its own', () => {
    const parsed = JSON.parse(input) as { numbers: number[]; string: string; literals: unknown[] };
    expect(canonicalJson(parsed.numbers)).toBe('[333333333.3333333,1e+30,4.5,0.002,1e-27]');
    expect(canonicalJson(parsed.literals)).toBe('[null,true,false]');
    // € $ U+000F LF A ' B " \ \ " /
    expect(parsed.string).toBe('€$\u000f\nA\'B"\\\\"/');
    expect(canonicalJson(parsed.string)).toBe(String.raw`"€$\u000f\nA'B\"\\\\\"/"`);
  });

  test('§3.2.2.2: controls as \\b \\t \\n \\f \\r or lowercase \\u00xx, " and \\ escaped, all else as is', () => {
    const short: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
    for (let code = 0; code < 0x20; code++) {
      const want = short[code] ?? `\\u${code.toString(16).padStart(4, '0')}`;
      expect(canonicalJson(String.fromCharCode(code))).toBe(`"${want}"`);
    }
    expect(canonicalJson('"\\')).toBe(String.raw`"\"\\"`);
    for (const raw of ['/', '\u007f', '\u0080', '\u2028', '\u2029', '\ufeff', 'é', '€', '😀', '<script>'])
      expect(canonicalJson(raw)).toBe(`"${raw}"`);
  });
});

describe('RFC 8785 §3.2.3: properties sorted by UTF-16 code units', () => {
  const input = String.raw`{
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  }`;

  test('the example sorts as the RFC shows: the emoji (a surrogate pair) before U+FB33', () => {
    const text = canonicalJson(JSON.parse(input));
    // by position in the text: re-parsing would enumerate the integer-like key "1" first
    const values = Object.values(JSON.parse(text) as Record<string, string>);
    expect(values.sort((a, b) => text.indexOf(`"${a}"`) - text.indexOf(`"${b}"`))).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(text).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  test('UTF-16 order differs from code point order: U+10000 sorts before U+E000', () => {
    expect(canonicalJson({ '\ue000': 1, '\u{10000}': 2, a: 3 })).toBe('{"a":3,"\u{10000}":2,"\ue000":1}');
  });

  test('sorting is recursive, and arrays keep their order', () => {
    expect(canonicalJson(JSON.parse('{"b":[{"z":1,"a":2}],"a":{"y":[3,1],"x":null}}'))).toBe(
      '{"a":{"x":null,"y":[3,1]},"b":[{"a":2,"z":1}]}',
    );
  });
});

describe('RFC 8785 Appendix B: number serialization samples', () => {
  test.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // minus zero
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('%s serializes as %s', (bits, want) => {
    expect(canonicalJson(fromBits(bits))).toBe(want);
    expect(canonicalJson([fromBits(bits)])).toBe(`[${want}]`);
  });

  test.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])(
    '%s (NaN or an infinity) is refused',
    (bits) => {
      expect(() => canonicalJson(fromBits(bits))).toThrow(CanonicalJsonError);
      expect(() => canonicalJson({ n: fromBits(bits) })).toThrow(/non-finite/);
    },
  );
});
