import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/audit/canonicalJson';
import {
  appendAudit,
  GENESIS_HASH,
  hashEntry,
  verifyAudit,
  type AuditEntry,
  type AuditEvent,
} from '../../src/audit/chain';
import { sha256Hex } from '../../src/audit/sha256';
import { actionDigest } from '../../src/policies/approval';
import { prng } from '../support/prng';

const nodeSha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A random string mixing 1-, 2-, 3- and 4-byte characters and lone surrogates. */
function randomString(rand: () => number): string {
  const length = Math.floor(rand() * 300);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  let out = '';
  for (let i = 0; i < length; i++) {
    const bucket = rand();
    if (bucket < 0.4) out += String.fromCharCode(int(0, 0x7f));
    else if (bucket < 0.55) out += String.fromCharCode(int(0x80, 0x7ff));
    else if (bucket < 0.7) {
      let c = int(0x800, 0xfffd);
      if (c >= 0xd800 && c <= 0xdfff) c -= 0x800;
      out += String.fromCharCode(c);
    } else if (bucket < 0.9) out += String.fromCodePoint(int(0x10000, 0x10ffff));
    else out += String.fromCharCode(int(0xd800, 0xdfff)); // a lone surrogate (or, by chance, half of a pair)
  }
  return out;
}

describe('sha256Hex agrees with node:crypto', () => {
  test('the empty string hashes to the well-known digest', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test('ASCII text', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    for (const text of [
      'a',
      'hello world',
      'The quick brown fox jumps over the lazy dog',
      '{"a":1}',
      '\n\t\0',
    ]) {
      expect(sha256Hex(text)).toBe(nodeSha(text));
    }
  });

  test('every length from 0 to 200 (covering the 55/56/63/64/65 and 119/120/127/128 block edges)', () => {
    for (let n = 0; n <= 200; n++) {
      const text = 'x'.repeat(n);
      expect({ n, hash: sha256Hex(text) }).toEqual({ n, hash: nodeSha(text) });
    }
  });

  test('byte lengths around block edges made of multi-byte characters', () => {
    // 'é' is 2 bytes, '€' 3 bytes, '😀' 4 bytes: fill to byte lengths just around 56 and 64
    for (const target of [54, 55, 56, 57, 62, 63, 64, 65, 66, 119, 120, 121, 127, 128, 129]) {
      for (const [ch, width] of [
        ['é', 2],
        ['€', 3],
        ['😀', 4],
      ] as const) {
        const text = ch.repeat(Math.floor(target / width)) + 'a'.repeat(target % width);
        expect(Buffer.byteLength(text)).toBe(target);
        expect(sha256Hex(text)).toBe(nodeSha(text));
      }
    }
  });

  test('a large input spanning many blocks', () => {
    const text = 'Steward ✓ 🚀 '.repeat(10_000);
    expect(sha256Hex(text)).toBe(nodeSha(text));
  });

  test('multi-byte UTF-8 hashes like node:crypto', () => {
    for (const text of [
      'é',
      'ß',
      'Ω',
      '中文',
      '€',
      '\u0800',
      '\u07ff',
      '\uffff',
      '\ufffd',
      'naïve café',
      'Привет',
      'مرحبا',
    ]) {
      expect(sha256Hex(text)).toBe(nodeSha(text));
    }
  });

  test('emoji and other surrogate pairs hash as 4-byte sequences', () => {
    for (const text of ['😀', '👩‍👩‍👧‍👦', '𝄞', '\u{10000}', '\u{10ffff}', 'a😀b', '🇫🇷🇩🇪']) {
      expect(sha256Hex(text)).toBe(nodeSha(text));
    }
    const emojiBytes = Buffer.from([0xf0, 0x9f, 0x98, 0x80]); // U+1F600
    expect(sha256Hex('😀')).toBe(createHash('sha256').update(emojiBytes).digest('hex'));
  });

  test('lone surrogates become U+FFFD exactly as Buffer.from does', () => {
    const cases = [
      '\ud800',
      '\udfff',
      '\udc00',
      'a\ud800',
      '\ud800a',
      '\ud800\ud800',
      '\udc00\ud800',
      '\ud83d', // high half of an emoji at the end
      '\ude00x', // low half first
      '\ud83d\ud83d\ude00', // a lone high followed by a full pair
      'x\udbff\udfffy', // a valid pair at the top of the range
    ];
    for (const text of cases) {
      expect({ text: escape(text), hash: sha256Hex(text) }).toEqual({
        text: escape(text),
        hash: nodeSha(text),
      });
    }
    expect(sha256Hex('a\ud800b')).toBe(sha256Hex('a\ufffdb'));
  });

  test('500 seeded random strings hash like node:crypto', () => {
    const rand = prng(0x5eed);
    for (let i = 0; i < 500; i++) {
      const text = randomString(rand);
      const hash = sha256Hex(text);
      if (hash !== nodeSha(text))
        throw new Error(`case ${i}: sha256Hex differs from node:crypto for ${escape(text)}`);
    }
  });
});

describe('hashes are the ones recorded before @noble/hashes replaced the hand-written SHA-256', () => {
  test('the approval digest recorded in test/replay/approval-granted.json', () => {
    expect(actionDigest({ tool: 'write_file', input: { path: 'out.txt', content: 'hello' } })).toBe(
      '48b67c2fb6410d80e04b5c74d9ead5ba7d302f0c885e4aaf86ecead4fecb9f3a',
    );
    expect(actionDigest({ tool: 'write_file', input: { path: 'out.txt', content: 'hello ✓ 😀' } })).toBe(
      'bc9e64f767aa004d52e5a32791889ba17fc4545ec5f8f7905ad499bc7949b43d',
    );
  });

  test('an audit chain head over multi-byte text, a lone surrogate and awkward numbers', () => {
    const events: AuditEvent[] = [
      {
        kind: 'task.started',
        at: '2024-01-01T00:00:00.000Z',
        step: 0,
        data: { agent: 'notes-digest', principal: 'bob', note: 'naïve 😀 \ud800 €' },
      },
      {
        kind: 'task.completed',
        at: '2024-01-01T00:00:04.000Z',
        step: 3,
        data: { result: 'done ✓', n: [1.5, -0, 1e21, 2e-7] },
      },
    ];
    // entries from before schema 1 (no `v`) are hashed as sha256(prevHash + canonicalJSON({seq, kind, at, step, data}))
    let head = { seq: 0, hash: GENESIS_HASH };
    const legacy: AuditEntry[] = [];
    for (const event of events) {
      const unhashed = { seq: head.seq + 1, ...event, prevHash: head.hash };
      const entry = { ...unhashed, hash: hashEntry(unhashed) };
      legacy.push(entry);
      head = { seq: entry.seq, hash: entry.hash };
    }
    expect(head.hash).toBe('2c9998bbc53871ae9225f0ed0049be8974b0651b14659e2def7e9c5b3f33bfcb');
    expect(verifyAudit(legacy)).toEqual({ ok: true, head: head.hash });
  });

  test('a schema 1 entry is the sha256 of its canonical JSON without `hash`', () => {
    const entry = appendAudit({ seq: 0, hash: GENESIS_HASH }, 'task-1', {
      kind: 'task.started',
      at: '2024-01-01T00:00:00.000Z',
      step: 0,
      actor: { agent: 'notes-digest', principal: 'bob' },
      data: { note: 'naïve 😀 €' },
    });
    const { hash, ...rest } = entry;
    expect(rest.v).toBe(1);
    expect(hash).toBe(nodeSha(canonicalJson(rest)));
    expect(canonicalJson(rest)).toBe(
      '{"actor":{"agent":"notes-digest","principal":"bob"},"at":"2024-01-01T00:00:00.000Z","data":{"note":"naïve 😀 €"},"kind":"task.started","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"step":0,"taskId":"task-1","v":1}',
    );
  });
});

describe('canonicalJson', () => {
  test('key order does not change the encoding', () => {
    const a = { b: 1, a: 2, c: { z: true, y: [1, 2, { q: 1, p: 2 }] } };
    const b = { c: { y: [1, 2, { p: 2, q: 1 }], z: true }, a: 2, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":2,"b":1,"c":{"y":[1,2,{"p":2,"q":1}],"z":true}}');
  });

  test('nested values encode without whitespace and parse back to the same value', () => {
    const value = {
      list: [[], {}, [null, 'x', 1.5, -0.25, false]],
      text: 'a "quoted" \n line ✓',
      deep: { a: { b: { c: 'd' } } },
    };
    const text = canonicalJson(value);
    expect(text.replace(/"(?:[^"\\]|\\.)*"/g, '""')).not.toMatch(/\s/); // no whitespace outside strings
    expect(JSON.parse(text)).toEqual(value);
  });

  test('array order is kept (arrays are not sorted)', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
  });

  test('undefined members are dropped, undefined array items become null', () => {
    expect(canonicalJson({ a: 1, b: undefined, c: { d: undefined } })).toBe('{"a":1,"c":{}}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson([1, undefined, 2])).toBe('[1,null,2]');
  });

  test('non-finite numbers are refused, at any depth', () => {
    expect(() => canonicalJson(NaN)).toThrow(TypeError);
    expect(() => canonicalJson(Infinity)).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: { b: [1, -Infinity] } })).toThrow(/non-finite/);
  });

  test('values JSON cannot carry are refused', () => {
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
    expect(() => canonicalJson({ f: Symbol('s') })).toThrow(TypeError);
    expect(() => canonicalJson(BigInt(1))).toThrow(TypeError);
  });
});

describe('audit hash chain', () => {
  const events: AuditEvent[] = [
    {
      kind: 'task.started',
      at: '2024-01-01T00:00:00.000Z',
      step: 0,
      data: { agent: 'notes-digest', principal: 'bob' },
    },
    {
      kind: 'model.called',
      at: '2024-01-01T00:00:01.000Z',
      step: 1,
      data: { route: 'r', usage: { inputTokens: 40, outputTokens: 10 } },
    },
    {
      kind: 'policy.decided',
      at: '2024-01-01T00:00:02.000Z',
      step: 2,
      data: { decision: 'approve', ruleIds: ['default/effects-need-approval'] },
    },
    {
      kind: 'tool.completed',
      at: '2024-01-01T00:00:03.000Z',
      step: 2,
      data: { tool: 'write_file', bytes: 12 },
    },
    { kind: 'task.completed', at: '2024-01-01T00:00:04.000Z', step: 3, data: { result: 'done ✓' } },
  ];

  function buildChain(): AuditEntry[] {
    const out: AuditEntry[] = [];
    let head = { seq: 0, hash: GENESIS_HASH };
    for (const event of events) {
      const entry = appendAudit(head, 'task-1', event);
      out.push(entry);
      head = { seq: entry.seq, hash: entry.hash };
    }
    return out;
  }

  const clone = (chain: AuditEntry[]): AuditEntry[] => JSON.parse(JSON.stringify(chain)) as AuditEntry[];

  test('appendAudit links entries: seq counts up, prevHash is the previous hash, hash = sha256(canonical entry without hash)', () => {
    const chain = buildChain();
    expect(chain.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prevHash).toBe(chain[i - 1]!.hash);
    for (const entry of chain) {
      const { hash, ...rest } = entry;
      expect(hash).toBe(nodeSha(canonicalJson(rest)));
    }
  });

  test('an untouched chain verifies, and its head is the last hash', () => {
    const chain = buildChain();
    expect(verifyAudit(chain)).toEqual({ ok: true, head: chain.at(-1)!.hash });
    expect(verifyAudit([])).toEqual({ ok: true, head: GENESIS_HASH });
  });

  test('a chain survives a JSON round trip (as it does through history)', () => {
    const chain = buildChain();
    expect(verifyAudit(clone(chain)).ok).toBe(true);
  });

  test('a tail verifies from the head it continues', () => {
    const chain = buildChain();
    expect(verifyAudit(chain.slice(2), { seq: chain[1]!.seq, hash: chain[1]!.hash })).toEqual({
      ok: true,
      head: chain.at(-1)!.hash,
    });
  });

  test.each([0, 1, 2, 3, 4])('changing the data of entry %i is detected at its seq', (index) => {
    const chain = clone(buildChain());
    chain[index]!.data = { ...chain[index]!.data, tampered: true };
    expect(verifyAudit(chain)).toEqual({
      ok: false,
      seq: index + 1,
      reason: 'hash does not match its content',
    });
  });

  test('changing kind, at or step of an entry is detected at its seq', () => {
    for (const change of [
      (e: AuditEntry) => (e.kind = 'task.forged'),
      (e: AuditEntry) => (e.at = '2030-01-01T00:00:00.000Z'),
      (e: AuditEntry) => (e.step = 99),
    ]) {
      const chain = clone(buildChain());
      change(chain[2]!);
      expect(verifyAudit(chain)).toMatchObject({ ok: false, seq: 3 });
    }
  });

  test('a nested change deep inside data is detected', () => {
    const chain = clone(buildChain());
    (chain[1]!.data.usage as { outputTokens: number }).outputTokens = 1;
    expect(verifyAudit(chain)).toEqual({ ok: false, seq: 2, reason: 'hash does not match its content' });
  });

  test('reordering two entries is detected at the first out of place', () => {
    const chain = buildChain();
    const swapped = [chain[0]!, chain[2]!, chain[1]!, chain[3]!, chain[4]!];
    expect(verifyAudit(swapped)).toEqual({
      ok: false,
      seq: 3,
      reason: 'entry 2 is missing or out of place (found entry 3)',
    });
  });

  test('deleting an entry is detected at the entry after the gap', () => {
    const chain = buildChain();
    expect(verifyAudit([...chain.slice(0, 2), ...chain.slice(3)])).toEqual({
      ok: false,
      seq: 4,
      reason: 'entry 3 is missing or out of place (found entry 4)',
    });
    expect(verifyAudit(chain.slice(1))).toEqual({
      ok: false,
      seq: 2,
      reason: 'entry 1 is missing or out of place (found entry 2)',
    });
  });

  test('deleting an entry and renumbering the rest is still detected', () => {
    const chain = clone(buildChain());
    const cut = [...chain.slice(0, 2), ...chain.slice(3)];
    cut.forEach((e, i) => (e.seq = i + 1));
    expect(verifyAudit(cut)).toEqual({
      ok: false,
      seq: 3,
      reason: 'prevHash does not match the hash of entry 2',
    });
  });

  test('changing an entry’s prevHash is detected at its seq', () => {
    const chain = clone(buildChain());
    chain[3]!.prevHash = 'f'.repeat(64);
    expect(verifyAudit(chain)).toEqual({
      ok: false,
      seq: 4,
      reason: 'prevHash does not match the hash of entry 3',
    });
  });

  test('rewriting an entry and recomputing its own hash is detected at the next entry', () => {
    const chain = clone(buildChain());
    const forged = appendAudit({ seq: 1, hash: chain[0]!.hash }, 'task-1', {
      ...events[1]!,
      data: { route: 'forged' },
    });
    chain[1] = forged;
    expect(verifyAudit(chain)).toEqual({
      ok: false,
      seq: 3,
      reason: 'prevHash does not match the hash of entry 2',
    });
  });

  test('changing the stored hash itself is detected', () => {
    const chain = clone(buildChain());
    chain[4]!.hash = '0'.repeat(63) + '1';
    expect(verifyAudit(chain)).toEqual({ ok: false, seq: 5, reason: 'hash does not match its content' });
  });
});
