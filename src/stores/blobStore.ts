import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isBlobRef, type BlobRef } from '../shared/types';
import { failure, ErrorTypes } from '../errors';

/** Values larger than this live in the blob store; history keeps their hash (well under 2 MB). */
export const BLOB_THRESHOLD_BYTES = 64 * 1024;
const PREVIEW_CHARS = 160;

/** A content-addressed store in a local directory: a blob's name is the sha256 of its bytes. */
export class BlobStore {
  constructor(readonly dir: string) {}

  private pathOf(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw failure(ErrorTypes.BlobMissing, `not a blob hash: ${hash}`);
    return join(this.dir, hash.slice(0, 2), hash);
  }

  async put(bytes: Buffer): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const path = this.pathOf(hash);
    await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, bytes);
      await rename(temp, path); // atomic: a reader sees the whole blob or none
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined); // a full disk must not fill up with halves
      throw err;
    }
    return hash;
  }

  async get(hash: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(hash));
    } catch {
      throw failure(ErrorTypes.BlobMissing, `blob ${hash} is not in ${this.dir}`);
    }
    if (createHash('sha256').update(bytes).digest('hex') !== hash) {
      throw failure(ErrorTypes.BlobMissing, `blob ${hash} in ${this.dir} is corrupt`);
    }
    return bytes;
  }

  async putValue(value: unknown): Promise<BlobRef> {
    const json = JSON.stringify(value);
    const bytes = Buffer.from(json);
    const preview = typeof value === 'string' ? value.slice(0, PREVIEW_CHARS) : json.slice(0, PREVIEW_CHARS);
    return { $blob: await this.put(bytes), bytes: bytes.length, preview };
  }

  async getValue(ref: BlobRef): Promise<unknown> {
    return JSON.parse((await this.get(ref.$blob)).toString('utf8'));
  }

  /**
   * Moves what is large out of a value: long strings become blob references, and if the rest is
   * still over the threshold, the whole value does.
   */
  async externalize(value: unknown, threshold = BLOB_THRESHOLD_BYTES): Promise<unknown> {
    const walk = async (v: unknown): Promise<unknown> => {
      if (typeof v === 'string') return Buffer.byteLength(v) > threshold ? this.putValue(v) : v;
      if (Array.isArray(v)) return Promise.all(v.map(walk));
      if (v && typeof v === 'object' && !isBlobRef(v)) {
        const entries = await Promise.all(
          Object.entries(v).map(async ([k, x]) => [k, await walk(x)] as const),
        );
        return Object.fromEntries(entries);
      }
      return v;
    };
    const out = await walk(value);
    return Buffer.byteLength(JSON.stringify(out) ?? '') > threshold ? this.putValue(out) : out;
  }

  /** Replaces every blob reference in a value by the value it stands for. */
  async resolve(value: unknown): Promise<unknown> {
    if (isBlobRef(value)) return this.resolve(await this.getValue(value));
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.resolve(v)));
    if (value && typeof value === 'object') {
      const entries = await Promise.all(
        Object.entries(value).map(async ([k, v]) => [k, await this.resolve(v)] as const),
      );
      return Object.fromEntries(entries);
    }
    return value;
  }
}
