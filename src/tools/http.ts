import { z } from 'zod';
import { ErrorTypes, failure, isRetryableHttpStatus } from '../errors';
import { defineTool } from './registry';

/** How much of an error answer is read: enough to quote, not enough to hurt. */
const ERROR_EXCERPT_BYTES = 4096;

/** Refuses, when the tools are built, an allowlist entry that could not mean one plain http(s) prefix. */
export function checkAllowlist(entries: string[]): void {
  for (const entry of entries) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      // reported below
    }
    const problem = !url
      ? 'is not a URL'
      : url.protocol !== 'http:' && url.protocol !== 'https:'
        ? 'is not an http(s) URL'
        : url.username || url.password
          ? 'carries credentials'
          : /[?#]/.test(entry)
            ? 'has a query or a fragment'
            : undefined;
    if (problem) {
      // Credentials are not repeated in the error, which goes to logs.
      const shown =
        url && (url.username || url.password) ? `${url.protocol}//***@${url.host}${url.pathname}` : entry;
      throw new Error(`tools.httpAllowlist entry ${JSON.stringify(shown)} ${problem}`);
    }
  }
}

/** The URL if an allowlist entry covers it: same origin, a path under the entry's, no credentials. */
function allowedUrl(url: string, allowlist: string[]): URL | undefined {
  const target = new URL(url); // normalises `..` segments
  if (target.username || target.password) return undefined;
  const covered = allowlist.some((entry) => {
    const allowed = new URL(entry);
    if (allowed.origin !== target.origin) return false;
    const base = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
    return target.pathname === allowed.pathname || target.pathname.startsWith(base);
  });
  return covered ? target : undefined;
}

/** Reads at most `max` bytes of a body, then drops the connection rather than take more. */
async function readAtMost(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<{ bytes: Buffer; over: boolean }> {
  if (!body) return { bytes: Buffer.alloc(0), over: false };
  const reader = body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks, total), over: false };
      if (total + value.byteLength > max) {
        chunks.push(Buffer.from(value.subarray(0, max - total)));
        return { bytes: Buffer.concat(chunks, max), over: true };
      }
      chunks.push(Buffer.from(value));
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export function httpPostTool(allowlist: string[], maxResponseBytes: number) {
  return defineTool({
    name: 'http_post',
    description: 'POST a JSON body to an allowed URL; the request carries an Idempotency-Key header.',
    effect: 'write',
    dataClass: 'public',
    input: z.object({ url: z.string().url(), body: z.record(z.string(), z.unknown()) }).strict(),
    output: z.object({ status: z.number().int(), body: z.unknown() }),
    handler: async ({ url, body }, { idempotencyKey, signal }) => {
      const target = allowedUrl(url, allowlist);
      if (!target) throw failure(ErrorTypes.ToolRejected, `${url} is not covered by tools.httpAllowlist`);
      const response = await fetch(target.href, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(body),
        // A redirect could send the payload and its key to a host the allowlist never named.
        redirect: 'manual',
        signal,
      }).catch((err: Error) => {
        if (signal.aborted) throw err;
        throw failure(ErrorTypes.ToolFailed, `POST ${url} failed: ${err.message}`);
      });
      const read = (max: number) =>
        readAtMost(response.body, max).catch((err: Error) => {
          if (signal.aborted) throw err;
          throw failure(ErrorTypes.ToolFailed, `POST ${url}: reading the answer failed: ${err.message}`);
        });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel().catch(() => undefined);
        const location = (response.headers.get('location') ?? '(no Location)').slice(0, 300);
        throw failure(
          ErrorTypes.ToolRejected,
          `POST ${url} answered ${response.status} redirecting to ${location}; redirects are not followed`,
        );
      }
      if (!response.ok) {
        const { bytes } = await read(ERROR_EXCERPT_BYTES);
        throw failure(
          isRetryableHttpStatus(response.status) ? ErrorTypes.ToolFailed : ErrorTypes.ToolRejected,
          `POST ${url} answered ${response.status}: ${bytes.toString('utf8').slice(0, 200)}`,
        );
      }
      // Over the cap is final: the POST was made, and a retry must not make it again.
      const tooBig = () =>
        failure(
          ErrorTypes.ToolRejected,
          `POST ${url} was made, but its answer is over the ${maxResponseBytes}-byte limit, so it is not kept; the POST is not repeated`,
        );
      if (Number(response.headers.get('content-length') ?? 0) > maxResponseBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw tooBig();
      }
      const { bytes, over } = await read(maxResponseBytes);
      if (over) throw tooBig();
      const text = bytes.toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed };
    },
  });
}
