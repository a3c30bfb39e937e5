import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isBlobRef, type BlobRef } from '../shared/types';
import { failure, ErrorTypes, StewardError } from '../errors';
import { MAX_NESTING } from '../shared/depth';

/** Values larger than this live in the blob store; history keeps their hash (well under 2 MB). */
export const BLOB_THRESHOLD_BYTES = 64 * 1024;
const PREVIEW_CHARS = 160;

/**
 * Where a blob store keeps its bytes. The store names, hashes and checks them; a backend only keeps
 * bytes under a name: a local directory (the embedded default) or a database every machine reaches
 * (PostgresBlobBackend).
 */
export interface BlobBackend {
  /** Where the blobs are, for messages: a directory, a database's host and name (never a password). */
  readonly where: string;
  /** Keeps `bytes` under `hash`, whole or not at all; a hash kept already is left as it is. */
  write(hash: string, bytes: Buffer): Promise<void>;
  /**
   * The bytes kept under `hash`, or undefined when there are none. A failure to reach the store
   * (a database restarting) throws, and the step is retried; a missing blob is not retried.
   */
  read(hash: string): Promise<Buffer | undefined>;
  close?(): Promise<void>;
}

/** Blobs as files in a local directory, fanned out by the hash's first two characters. */
export class LocalDirectoryBackend implements BlobBackend {
  constructor(readonly dir: string) {}

  get where(): string {
    return this.dir;
  }

  async write(hash: string, bytes: Buffer): Promise<void> {
    const path = join(this.dir, hash.slice(0, 2), hash);
    await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, bytes);
      await rename(temp, path); // atomic: a reader sees the whole blob or none
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined); // a full disk must not fill up with halves
      throw err;
    }
  }

  async read(hash: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.dir, hash.slice(0, 2), hash));
    } catch {
      return undefined;
    }
  }
}

/**
 * A value nested deeper than MAX_NESTING levels: the store's walks recurse, so they refuse such a
 * value by name instead of overflowing the stack (a start input 100,000 levels deep was a 500).
 */
export class ValueTooDeep extends StewardError {
  constructor() {
    super(
      `value is nested deeper than ${MAX_NESTING} levels of arrays and objects (the limit is ${MAX_NESTING})`,
    );
  }
}

/** `depth`, checked: a container at the limit is one level too many. */
function deeper(depth: number): number {
  if (depth >= MAX_NESTING) throw new ValueTooDeep();
  return depth + 1;
}

function checkedHash(hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw failure(ErrorTypes.BlobMissing, `not a blob hash: ${hash}`);
  return hash;
}

/**
 * A content-addressed store: a blob's name is the sha256 of its bytes, checked again on every read.
 * `new BlobStore(dir)` keeps blobs in a local directory; `new BlobStore(backend)` wherever the
 * backend keeps them (localStack.blobStoreFor picks it from the config's `stores.blobs`).
 */
export class BlobStore {
  readonly backend: BlobBackend;

  constructor(backend: BlobBackend | string) {
    this.backend = typeof backend === 'string' ? new LocalDirectoryBackend(backend) : backend;
  }

  /** The directory of a store kept in one (the local default). */
  get dir(): string {
    if (this.backend instanceof LocalDirectoryBackend) return this.backend.dir;
    throw new Error(`this blob store is not a local directory: ${this.backend.where}`);
  }

  async put(bytes: Buffer): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    await this.backend.write(hash, bytes);
    return hash;
  }

  /** The blob's bytes; a blob that is not there (or not whole) is BlobMissing, naming the hash. */
  async get(hash: string): Promise<Buffer> {
    const bytes = await this.backend.read(checkedHash(hash));
    if (!bytes) throw failure(ErrorTypes.BlobMissing, `blob ${hash} is not in ${this.backend.where}`);
    if (createHash('sha256').update(bytes).digest('hex') !== hash) {
      throw failure(ErrorTypes.BlobMissing, `blob ${hash} in ${this.backend.where} is corrupt`);
    }
    return bytes;
  }

  async close(): Promise<void> {
    await this.backend.close?.();
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
    const walk = async (v: unknown, depth: number): Promise<unknown> => {
      if (typeof v === 'string') return Buffer.byteLength(v) > threshold ? this.putValue(v) : v;
      if (Array.isArray(v)) {
        const next = deeper(depth);
        return Promise.all(v.map((x) => walk(x, next)));
      }
      if (v && typeof v === 'object' && !isBlobRef(v)) {
        const next = deeper(depth);
        const entries = await Promise.all(
          Object.entries(v).map(async ([k, x]) => [k, await walk(x, next)] as const),
        );
        return Object.fromEntries(entries);
      }
      return v;
    };
    const out = await walk(value, 0);
    return Buffer.byteLength(JSON.stringify(out) ?? '') > threshold ? this.putValue(out) : out;
  }

  /** Replaces every blob reference in a value by the value it stands for. */
  async resolve(value: unknown): Promise<unknown> {
    return this.resolveAt(value, 0);
  }

  /** `depth` counts across blobs too: a blob's content continues the value that refers to it. */
  private async resolveAt(value: unknown, depth: number): Promise<unknown> {
    if (isBlobRef(value)) return this.resolveAt(await this.getValue(value), depth);
    if (Array.isArray(value)) {
      const next = deeper(depth);
      return Promise.all(value.map((v) => this.resolveAt(v, next)));
    }
    if (value && typeof value === 'object') {
      const next = deeper(depth);
      const entries = await Promise.all(
        Object.entries(value).map(async ([k, v]) => [k, await this.resolveAt(v, next)] as const),
      );
      return Object.fromEntries(entries);
    }
    return value;
  }
}
