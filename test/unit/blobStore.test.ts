import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isBlobRef, type BlobRef } from '../../src/shared/types';
import { BLOB_THRESHOLD_BYTES, BlobStore } from '../../src/stores/blobStore';
import { failureOf } from '../support/failures';

let dir: string;
let store: BlobStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-blobs-'));
  store = new BlobStore(join(dir, 'blobs'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

describe('put and get', () => {
  test('round trip returns the same bytes', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    const hash = await store.put(bytes);
    expect(await store.get(hash)).toEqual(bytes);
  });

  test('the name of a blob is the sha256 of its bytes, stored under a two-character fan-out directory', async () => {
    const bytes = Buffer.from('hello blob ✓');
    const hash = await store.put(bytes);
    expect(hash).toBe(sha(bytes));
    expect(existsSync(join(store.dir, hash.slice(0, 2), hash))).toBe(true);
  });

  test('equal content is stored once; different content gets a different name', async () => {
    const a = await store.put(Buffer.from('same'));
    const b = await store.put(Buffer.from('same'));
    const c = await store.put(Buffer.from('other'));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(readdirSync(join(store.dir, a.slice(0, 2)))).toEqual([a]); // and no temp files left
  });

  test('concurrent puts of the same content all succeed', async () => {
    const bytes = Buffer.from('x'.repeat(100_000));
    const hashes = await Promise.all(Array.from({ length: 8 }, () => store.put(bytes)));
    expect(new Set(hashes)).toEqual(new Set([sha(bytes)]));
    expect(await store.get(hashes[0]!)).toEqual(bytes);
  });

  test('the empty blob works', async () => {
    const hash = await store.put(Buffer.alloc(0));
    expect(hash).toBe(sha(''));
    expect((await store.get(hash)).length).toBe(0);
  });

  test('a missing blob is BlobMissing (non-retryable)', async () => {
    const err = await failureOf(store.get('0'.repeat(64)));
    expect(err.type).toBe('BlobMissing');
    expect(err.nonRetryable).toBe(true);
  });

  test('a corrupted blob is detected as BlobMissing', async () => {
    const hash = await store.put(Buffer.from('original content'));
    writeFileSync(join(store.dir, hash.slice(0, 2), hash), 'tampered content');
    const err = await failureOf(store.get(hash));
    expect(err.type).toBe('BlobMissing');
    expect(err.message).toMatch(/corrupt/);
  });

  test('a name that is not a sha256 is refused, so no path can be smuggled in', async () => {
    for (const bad of ['../../etc/passwd', 'ABC', 'a'.repeat(63), 'A'.repeat(64)]) {
      const err = await failureOf(store.get(bad));
      expect(err.type).toBe('BlobMissing');
    }
  });
});

describe('a failed put leaves no temp file', () => {
  test('when the rename fails (a non-empty directory stands where the blob goes)', async () => {
    const bytes = Buffer.from('blocked');
    const hash = sha(bytes);
    const fanOut = join(store.dir, hash.slice(0, 2));
    mkdirSync(join(fanOut, hash, 'occupied'), { recursive: true });
    await expect(store.put(bytes)).rejects.toMatchObject({
      code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/),
    });
    expect(readdirSync(fanOut)).toEqual([hash]);
  });

  // A real short write: the child process may not write files over 4 KiB (RLIMIT_FSIZE), as on a full disk.
  // prlimit is util-linux's, on every Debian machine: a missing one fails here rather than skipping
  test('when the write fails half way (EFBIG under prlimit --fsize)', () => {
    const script = join(dir, 'put.ts');
    writeFileSync(
      script,
      `import { BlobStore } from ${JSON.stringify(resolve(__dirname, '../../src/stores/blobStore'))};
new BlobStore(${JSON.stringify(store.dir)}).put(Buffer.alloc(100_000, 1)).then(
  () => console.log('stored'),
  (err) => console.log(err.code),
);`,
    );
    const child = spawnSync('prlimit', ['--fsize=4096', process.execPath, '--import', 'tsx', script], {
      encoding: 'utf8',
      cwd: resolve(__dirname, '../..'),
    });
    expect(child.stdout.trim()).toBe('EFBIG');
    const hash = sha(Buffer.alloc(100_000, 1));
    expect(readdirSync(join(store.dir, hash.slice(0, 2)))).toEqual([]);
  });
});

describe('values', () => {
  test('putValue/getValue round trip JSON values, with a preview and the byte size', async () => {
    const value = { text: 'héllo', n: [1, 2, 3], nested: { ok: true, none: null } };
    const ref = await store.putValue(value);
    expect(isBlobRef(ref)).toBe(true);
    expect(ref.bytes).toBe(Buffer.byteLength(JSON.stringify(value)));
    expect(ref.$blob).toBe(sha(JSON.stringify(value)));
    expect(ref.preview).toBe(JSON.stringify(value).slice(0, 160));
    expect(await store.getValue(ref)).toEqual(value);
  });

  test('a string’s preview is its beginning, without JSON quotes', async () => {
    const ref = await store.putValue('z'.repeat(500));
    expect(ref.preview).toBe('z'.repeat(160));
  });
});

describe('externalize and resolve', () => {
  const threshold = 1000;
  const big = 'B'.repeat(threshold + 1);
  const small = 's'.repeat(100);

  test('strings over the threshold become references; small values stay inline', async () => {
    const value = {
      path: 'notes.md',
      text: big,
      words: 3,
      small,
      list: ['a', big + '2'],
      flag: true,
      none: null,
    };
    const out = (await store.externalize(value, threshold)) as Record<string, unknown>;
    expect(isBlobRef(out.text)).toBe(true);
    expect((out.text as BlobRef).bytes).toBe(JSON.stringify(big).length);
    expect(out.path).toBe('notes.md');
    expect(out.small).toBe(small);
    expect(out.words).toBe(3);
    expect(out.flag).toBe(true);
    expect(out.none).toBeNull();
    expect((out.list as unknown[])[0]).toBe('a');
    expect(isBlobRef((out.list as unknown[])[1])).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(threshold);
  });

  test('the threshold counts UTF-8 bytes, not characters', async () => {
    const wide = '€'.repeat(400); // 400 characters, 1,200 bytes
    expect(isBlobRef(await store.externalize(wide, threshold))).toBe(true);
    expect(await store.externalize('€'.repeat(332), threshold)).toBe('€'.repeat(332)); // 996 bytes, 998 as JSON
  });

  test('a string right at the threshold (as JSON) stays inline', async () => {
    const edge = 'e'.repeat(threshold - 2); // 1,000 bytes with its quotes
    expect(await store.externalize(edge, threshold)).toBe(edge);
    expect(isBlobRef(await store.externalize(edge + 'e', threshold))).toBe(true);
  });

  test('a value that is small stays exactly as it was', async () => {
    const value = { a: 1, b: ['x', { c: 'y' }], d: null };
    expect(await store.externalize(value, threshold)).toEqual(value);
    expect(await store.externalize(42, threshold)).toBe(42);
    expect(await store.externalize('short', threshold)).toBe('short');
  });

  test('many small strings that together exceed the threshold move out as one reference', async () => {
    const value = { items: Array.from({ length: 200 }, (_, i) => `item-${i}`) };
    const out = await store.externalize(value, threshold);
    expect(isBlobRef(out)).toBe(true);
    expect(await store.resolve(out)).toEqual(value);
  });

  test('resolve restores the original value exactly', async () => {
    const value = {
      text: big,
      nested: { deeper: [big + 'x', 'tiny', { again: big + 'y' }], n: 1.5, t: false, z: null },
      unicode: '😀'.repeat(400),
      items: Array.from({ length: 100 }, (_, i) => ({ i, s: `v${i}` })),
    };
    const out = await store.externalize(value, threshold);
    expect(JSON.stringify(out).length).toBeLessThan(JSON.stringify(value).length);
    expect(await store.resolve(out)).toEqual(value);
  });

  // Two equal strings are put concurrently (Promise.all); both writers use the same temp name when
  // they run in the same millisecond, and the second rename fails with ENOENT.
  test('the same large string twice in one value is externalized and resolved', async () => {
    const value = { a: big, b: big, c: [big] };
    const out = (await store.externalize(value, threshold)) as Record<string, unknown>;
    expect(await store.resolve(out)).toEqual(value);
  });

  test('resolve leaves values without references unchanged', async () => {
    const value = { a: [1, 'two', { three: null }], b: true };
    expect(await store.resolve(value)).toEqual(value);
    expect(await store.resolve('text')).toBe('text');
  });

  test('resolving a reference to a missing blob is BlobMissing', async () => {
    const err = await failureOf(store.resolve({ x: { $blob: 'f'.repeat(64), bytes: 3, preview: '' } }));
    expect(err.type).toBe('BlobMissing');
  });

  test('the default threshold is well under Temporal’s 2 MB payload limit', () => {
    expect(BLOB_THRESHOLD_BYTES).toBeLessThan((2 * 1024 * 1024) / 4);
    expect(BLOB_THRESHOLD_BYTES).toBeGreaterThan(0);
  });
});

describe('deep values', () => {
  /** `[[[…]]]` nested `levels` deep, built without recursion. */
  const nested = (levels: number, leaf: unknown = 'x'): unknown => {
    let v = leaf;
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };

  test('a value 100,000 levels deep is refused by name, not a stack overflow', async () => {
    const deep = nested(100_000);
    await expect(store.externalize(deep)).rejects.toThrow(/nested deeper than 64 levels/);
    await expect(store.resolve(deep)).rejects.toThrow(/nested deeper than 64 levels/);
    await expect(store.externalize(deep)).rejects.not.toBeInstanceOf(RangeError);
  });

  test('64 levels are walked as before; 65 are refused', async () => {
    const long = 'y'.repeat(BLOB_THRESHOLD_BYTES + 1);
    const out = await store.externalize(nested(63, { text: long }));
    let inner: unknown = out;
    for (let i = 0; i < 63; i++) inner = (inner as unknown[])[0];
    expect(isBlobRef((inner as { text: unknown }).text)).toBe(true);
    expect(await store.resolve(out)).toEqual(nested(63, { text: long }));
    await expect(store.externalize(nested(65))).rejects.toThrow(/the limit is 64/);
  });

  test('depth counts across blobs: a blob does not restart the count', async () => {
    const ref = await store.putValue(nested(40));
    await expect(store.resolve(nested(30, ref))).rejects.toThrow(/nested deeper than 64 levels/);
    expect(await store.resolve(nested(20, ref))).toEqual(nested(60));
  });
});
