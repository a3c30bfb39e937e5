import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  fstatSync,
  ftruncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry } from '../audit/chain';
import type { SignedHead } from '../audit/head';

/**
 * Where audit trails live once they leave Temporal: append-only, per task, long after the history is
 * gone. Appends are idempotent by sequence number (an activity retried after a crash writes nothing
 * twice), and an entry that contradicts one already stored (same seq, another hash) is refused.
 */
export interface AuditStore {
  readonly where: string;
  append(taskId: string, entries: AuditEntry[]): Promise<void>;
  putHead(head: SignedHead): Promise<void>;
  /** Entries in sequence order and signed heads in the order they were signed; empty when unknown. */
  read(taskId: string): Promise<{ entries: AuditEntry[]; heads: SignedHead[] }>;
}

export class AuditStoreConflict extends Error {}

/** The seqs of a batch before the last one stored: a retried batch; the store must look up their hashes. */
export function seqsBefore(lastStored: AuditEntry | undefined, entries: AuditEntry[]): number[] {
  const lastSeq = lastStored?.seq ?? 0;
  return entries.filter((e) => e.seq < lastSeq).map((e) => e.seq);
}

/**
 * What of a batch is new, after the last entry stored. An entry of the batch that is already stored
 * must be stored with the same hash (`storedHashes` holds the hashes of the batch's `seqsBefore`),
 * and the new entries must follow the stored one and each other, seq by seq and hash by hash:
 * otherwise the whole batch is refused, so the store never holds a second version, a gap or a fork.
 */
export function newEntriesAfter(
  lastStored: AuditEntry | undefined,
  entries: AuditEntry[],
  storedHashes: ReadonlyMap<number, string> = new Map(),
): AuditEntry[] {
  const lastSeq = lastStored?.seq ?? 0;
  const task = lastStored?.taskId ?? entries[0]?.taskId ?? '';
  for (const e of entries) {
    if (e.seq > lastSeq) continue;
    const stored = e.seq === lastSeq ? lastStored!.hash : storedHashes.get(e.seq);
    if (stored !== undefined && stored !== e.hash)
      throw new AuditStoreConflict(
        `entry ${e.seq} of task ${task} is stored with another hash: the store refuses a second version`,
      );
  }
  const fresh = entries.filter((e) => e.seq > lastSeq);
  let previous: { seq: number; hash: string } | undefined = lastStored;
  for (const e of fresh) {
    const expected = (previous?.seq ?? lastSeq) + 1;
    if (e.seq !== expected)
      throw new AuditStoreConflict(
        previous === lastStored
          ? `entries after ${lastSeq} are missing: got ${e.seq} next`
          : `the batch skips or repeats entries: entry ${expected} expected, got ${e.seq}`,
      );
    if (previous && e.prevHash !== previous.hash)
      throw new AuditStoreConflict(
        `entry ${e.seq} does not follow the ${previous === lastStored ? 'stored ' : ''}entry ${previous.seq}`,
      );
    previous = e;
  }
  return fresh;
}

/**
 * A task id as a file name, one to one: the id itself when it is lower-case letters, digits, `_` and
 * `-` (no `.`, so no name is another's `.heads`, and no two names differ only in case, for
 * case-insensitive file systems); any other id is a readable prefix, a `.` and the whole sha256 of
 * the id, which no plain name has and no other id shares.
 */
export function taskFileName(taskId: string): string {
  if (/^[a-z0-9_-]{1,120}$/.test(taskId)) return taskId;
  const prefix = taskId
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .slice(0, 40);
  return `${prefix}.${createHash('sha256').update(taskId).digest('hex')}`;
}

/**
 * The name a task's files had before 0.2 (ids with `.`, `:` or capitals kept as they were), when it
 * differs from today's and cannot be another task's file: an id ending `.heads` named the heads file of
 * the id without it, and `task-<32 hex>` was the digest name of other ids.
 */
export function legacyTaskFileName(taskId: string): string | undefined {
  if (!/^[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,119}$/.test(taskId)) return undefined; // was a digest: unreadable now
  if (/\.heads$/.test(taskId) || /^task-[0-9a-f]{32}$/.test(taskId)) return undefined;
  return taskId === taskFileName(taskId) ? undefined : taskId;
}

/**
 * The embedded default: one JSON Lines file of entries and one of signed heads per task, under the
 * data directory. Lines are only ever appended; a line torn by a crash mid-write is cut off before
 * the next append, so the file always ends on a whole entry.
 */
export class FileAuditStore implements AuditStore {
  readonly where: string;

  constructor(private readonly dir: string) {
    this.where = dir;
  }

  /**
   * The task's files: today's names, or the names of before 0.2 when only those exist (a trail
   * written by an older version is read, and appended to, where it is).
   */
  private paths(taskId: string): { entries: string; heads: string } {
    const at = (name: string) => ({
      entries: join(this.dir, `${name}.jsonl`),
      heads: join(this.dir, `${name}.heads.jsonl`),
    });
    const current = at(taskFileName(taskId));
    const legacyName = legacyTaskFileName(taskId);
    if (!legacyName || existsSync(current.entries) || existsSync(current.heads)) return current;
    const legacy = at(legacyName);
    return existsSync(legacy.entries) ? legacy : current;
  }

  async append(taskId: string, entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const fd = openSync(this.paths(taskId).entries, 'a+', 0o600);
    try {
      const last = lastWholeLine(fd);
      // a retried batch reaching back before the last entry: compare it with what is stored
      const older = seqsBefore(last, entries);
      const storedHashes = new Map<number, string>();
      if (older.length)
        for (const e of readLines<AuditEntry>(this.paths(taskId).entries))
          if (older.includes(e.seq)) storedHashes.set(e.seq, e.hash);
      const fresh = newEntriesAfter(last, entries, storedHashes);
      if (fresh.length) writeSync(fd, fresh.map((e) => `${JSON.stringify(e)}\n`).join(''));
    } finally {
      closeSync(fd);
    }
  }

  async putHead(head: SignedHead): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const fd = openSync(this.paths(head.taskId).heads, 'a+', 0o600);
    try {
      const last = lastWholeLine(fd) as unknown as SignedHead | undefined;
      if (last && last.seq === head.seq && last.hash === head.hash) return; // the same head, retried
      writeSync(fd, `${JSON.stringify(head)}\n`);
    } finally {
      closeSync(fd);
    }
  }

  async read(taskId: string): Promise<{ entries: AuditEntry[]; heads: SignedHead[] }> {
    const { entries, heads } = this.paths(taskId);
    return { entries: readLines<AuditEntry>(entries), heads: readLines<SignedHead>(heads) };
  }
}

function readLines<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: empty, or a line torn by a crash
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new Error(`${file}:${i + 1} is not JSON`);
    }
  });
}

/** The file's last whole line, parsed; a torn tail (no newline) is cut off first. */
function lastWholeLine(fd: number): AuditEntry | undefined {
  const size = fstatSync(fd).size;
  if (size === 0) return undefined;
  const chunk = Math.min(size, 1024 * 1024);
  const buffer = Buffer.alloc(chunk);
  readSync(fd, buffer, 0, chunk, size - chunk);
  const lastNewline = buffer.lastIndexOf(0x0a);
  if (lastNewline < chunk - 1) ftruncateSync(fd, size - chunk + lastNewline + 1);
  if (lastNewline < 0) {
    if (chunk < size) throw new Error('the last audit line is over 1 MiB');
    return undefined;
  }
  const start = lastNewline === 0 ? 0 : buffer.lastIndexOf(0x0a, lastNewline - 1) + 1;
  if (start === 0 && chunk < size) throw new Error('the last audit line is over 1 MiB');
  return JSON.parse(buffer.subarray(start, lastNewline).toString('utf8')) as AuditEntry;
}
