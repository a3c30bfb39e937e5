/**
 * Extracting one member of a wheel (a zip) through yauzl: the central directory (zip64 included),
 * inflate, and a check of the member's size. yauzl does not check CRC-32, so this does, where Node has
 * `zlib.crc32` (20.15 and later); the sha256 of the whole member is checked by `writeVerified` always.
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { openPromise, type Entry, type ZipFile } from 'yauzl';
import { errorMessage, ModelFileError } from './errors';
import { type ExpectedBytes, writeVerified, type WriteVerifiedOptions } from './verifiedFile';

/** Writes `member` of the zip at `zipPath` to `target` if, and only if, its bytes are the expected ones. */
export async function extractWheelMember(
  zipPath: string,
  member: string,
  target: string,
  expected: ExpectedBytes,
  options: Pick<WriteVerifiedOptions, 'onProgress' | 'signal'> = {},
): Promise<void> {
  let zip: ZipFile;
  try {
    // autoClose off: listing stops at the member, and the file is closed here whatever happens.
    zip = await openPromise(zipPath, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
  } catch (err) {
    throw new ModelFileError(`cannot read ${zipPath} as a zip archive: ${errorMessage(err)}`, 'BadArchive');
  }
  let raw: Readable | undefined;
  try {
    const entry = await findEntry(zip, zipPath, member);
    const label = `${member} from ${zipPath}`;
    try {
      raw = await zip.openReadStreamPromise(entry);
    } catch (err) {
      throw new ModelFileError(`cannot extract ${label}: ${errorMessage(err)}`, 'BadArchive');
    }
    await writeVerified(checkedBytes(raw, entry, label), target, expected, {
      ...options,
      what: `${member} extracted from ${zipPath}`,
      phase: 'extract',
      total: entry.uncompressedSize,
    });
  } finally {
    raw?.destroy();
    zip.close();
  }
}

async function findEntry(zip: ZipFile, zipPath: string, member: string): Promise<Entry> {
  try {
    for await (const entry of zip.eachEntry()) if (entry.fileName === member) return entry;
  } catch (err) {
    throw new ModelFileError(
      `${zipPath} has a damaged central directory: ${errorMessage(err)}`,
      'BadArchive',
    );
  }
  throw new ModelFileError(`${zipPath} has no member ${member}`, 'NotFound');
}

type Crc32 = (data: Buffer, value?: number) => number;
const crc32 = (zlib as { crc32?: Crc32 }).crc32;

/** The member's bytes, with read and inflate errors and a CRC-32 mismatch turned into `BadArchive`. */
async function* checkedBytes(raw: Readable, entry: Entry, label: string): AsyncGenerator<Buffer> {
  let crc = 0;
  try {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      if (crc32) crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (err) {
    throw new ModelFileError(`cannot extract ${label}: ${errorMessage(err)}`, 'BadArchive');
  }
  if (crc32 && crc >>> 0 !== entry.crc32 >>> 0) {
    throw new ModelFileError(
      `cannot extract ${label}: its CRC-32 is ${hex(crc)}, the archive says ${hex(entry.crc32)}`,
      'BadArchive',
    );
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
