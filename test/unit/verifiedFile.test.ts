import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isVerified, writeVerified } from '../../src/weights/verifiedFile';

/** The one way a weights file reaches its final path: hash while writing, compare, rename. */
describe('writeVerified / isVerified', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'steward-verified-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const data = Buffer.from('the pinned bytes');
  const expected = { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
  const chunks = (...parts: Buffer[]) => Readable.from(parts);

  it('writes matching bytes to the target and records them, so the next check needs no hashing', async () => {
    const target = path.join(dir, 'sub', 'file.bin');
    const progress: unknown[] = [];
    await writeVerified(chunks(data.subarray(0, 4), data.subarray(4)), target, expected, {
      what: 'test bytes',
      phase: 'download',
      onProgress: (p) => progress.push(p),
    });
    expect(await readFile(target)).toEqual(data);
    expect(progress[0]).toEqual({ phase: 'download', bytes: 0, total: data.length });
    expect(progress.at(-1)).toEqual({ phase: 'download', bytes: data.length, total: data.length });

    const hashing: unknown[] = [];
    expect(await isVerified(target, expected, (p) => hashing.push(p))).toBe(true);
    expect(hashing).toEqual([]);
  });

  it.each([
    ['different', Buffer.from('the pinned bytez')],
    ['partial', data.subarray(0, 10)],
  ])('refuses %s bytes, naming both checksums, and leaves no file', async (_kind, wrong) => {
    const target = path.join(dir, 'file.bin');
    await expect(
      writeVerified(chunks(wrong), target, expected, { what: 'test bytes', phase: 'extract' }),
    ).rejects.toThrow(
      new RegExp(
        `checksum mismatch for test bytes: expected sha256 ${expected.sha256} \\(16 bytes\\), got sha256`,
      ),
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('rehashes a file changed behind its record, and says no when the bytes are wrong', async () => {
    const target = path.join(dir, 'file.bin');
    await writeVerified(chunks(data), target, expected, { what: 'test bytes', phase: 'download' });
    await writeFile(target, Buffer.from('the pinned bytez'));
    const past = new Date(Date.now() - 60_000);
    await utimes(target, past, past);
    const phases: string[] = [];
    expect(await isVerified(target, expected, (p) => phases.push(p.phase))).toBe(false);
    expect(phases).toContain('verify');
    expect(await isVerified(path.join(dir, 'missing'), expected)).toBe(false);
    expect(existsSync(`${target}.verified`)).toBe(true); // stale, and ignored
  });
});
