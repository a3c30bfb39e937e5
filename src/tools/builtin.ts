import { mkdir, readFile, readdir, realpath, rename, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { ErrorTypes, failure, isRetryableHttpStatus } from '../errors';
import { defineTool, type ToolDefinition } from './registry';

export interface BuiltinToolOptions {
  /** Files tools may touch only inside this directory. */
  workspace: string;
  /** URL prefixes `http_post` may call. */
  httpAllowlist: string[];
}

/**
 * Resolves a workspace-relative path, refusing anything that escapes the workspace, by `..` or
 * through a symlink: the real location of the file, or of its nearest existing parent, must be inside.
 */
async function insideWorkspace(workspace: string, path: string): Promise<string> {
  const root = await realpath(resolve(workspace));
  const within = (p: string): boolean => p === root || p.startsWith(root + sep);
  const full = resolve(root, path);
  const outside = () => failure(ErrorTypes.ToolRejected, `path ${path} is outside the workspace ${root}`);
  if (!within(full)) throw outside();
  for (let existing = full; ; existing = dirname(existing)) {
    try {
      if (!within(await realpath(existing))) throw outside();
      return full;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** File errors that a retry cannot fix are refusals, named for the model and the audit. */
function fileFailure(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'does not exist',
    EISDIR: 'is a directory',
    ENOTDIR: 'is not a directory',
    EACCES: 'is not readable',
  };
  return code && why[code] ? failure(ErrorTypes.ToolRejected, `${path} ${why[code]} in the workspace`) : err;
}

async function readWorkspaceFile(workspace: string, path: string): Promise<string> {
  try {
    return await readFile(await insideWorkspace(workspace, path), 'utf8');
  } catch (err) {
    throw fileFailure(err, path);
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function builtinTools(options: BuiltinToolOptions): ToolDefinition<any, any>[] {
  const { workspace } = options;
  return [
    defineTool({
      name: 'read_file',
      description: 'Read a UTF-8 text file from the workspace.',
      effect: 'read',
      dataClass: 'internal',
      input: z.object({ path: z.string().min(1).describe('path relative to the workspace') }).strict(),
      output: z.object({ path: z.string(), text: z.string() }),
      handler: async ({ path }) => ({ path, text: await readWorkspaceFile(workspace, path) }),
    }),
    defineTool({
      name: 'list_files',
      description: 'List the files in a workspace directory.',
      effect: 'read',
      dataClass: 'internal',
      input: z.object({ dir: z.string().default('.') }).strict(),
      output: z.object({ files: z.array(z.string()) }),
      handler: async ({ dir }) => {
        const full = await insideWorkspace(workspace, dir);
        const root = await realpath(resolve(workspace));
        const entries = await readdir(full, { withFileTypes: true }).catch((err: unknown) => {
          throw fileFailure(err, dir);
        });
        return {
          files: entries
            .filter((e) => e.isFile())
            .map((e) => relative(root, join(full, e.name)))
            .sort(),
        };
      },
    }),
    defineTool({
      name: 'write_file',
      description: 'Write a UTF-8 text file in the workspace, replacing it if it exists.',
      effect: 'write',
      dataClass: 'internal',
      input: z.object({ path: z.string().min(1), content: z.string() }).strict(),
      output: z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() }),
      handler: async ({ path, content }, { idempotencyKey }) => {
        const full = await insideWorkspace(workspace, path);
        await mkdir(dirname(full), { recursive: true });
        // Write then rename: a crash leaves the old file or the new one, never half of one; a retry
        // with the same key writes the same bytes, so the effect is the same however often it runs.
        const temp = `${full}.${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12)}.tmp`;
        await writeFile(temp, content, 'utf8');
        await rename(temp, full);
        const bytes = Buffer.byteLength(content);
        return { path, bytes, sha256: createHash('sha256').update(content).digest('hex') };
      },
    }),
    defineTool({
      name: 'http_post',
      description: 'POST a JSON body to an allowed URL; the request carries an Idempotency-Key header.',
      effect: 'write',
      dataClass: 'public',
      input: z.object({ url: z.string().url(), body: z.record(z.string(), z.unknown()) }).strict(),
      output: z.object({ status: z.number().int(), body: z.unknown() }),
      handler: async ({ url, body }, { idempotencyKey, signal }) => {
        const target = allowedUrl(url, options.httpAllowlist);
        if (!target) throw failure(ErrorTypes.ToolRejected, `${url} is not covered by tools.httpAllowlist`);
        const response = await fetch(target.href, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
          body: JSON.stringify(body),
          signal,
        }).catch((err: Error) => {
          if (signal.aborted) throw err;
          throw failure(ErrorTypes.ToolFailed, `POST ${url} failed: ${err.message}`);
        });
        const text = await response.text();
        if (!response.ok) {
          const retryable = isRetryableHttpStatus(response.status);
          throw failure(
            retryable ? ErrorTypes.ToolFailed : ErrorTypes.ToolRejected,
            `POST ${url} answered ${response.status}: ${text.slice(0, 200)}`,
          );
        }
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        return { status: response.status, body: parsed };
      },
    }),
    defineTool({
      name: 'text_stats',
      description: 'Count the words, lines and characters of a text and list its most frequent words.',
      effect: 'read',
      dataClass: 'public',
      placement: 'compute',
      input: z.object({ text: z.string() }).strict(),
      output: z.object({
        words: z.number().int(),
        lines: z.number().int(),
        chars: z.number().int(),
        topWords: z.array(z.string()),
      }),
      handler: async ({ text }) => {
        const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
        const counts = new Map<string, number>();
        for (const w of words) if (w.length > 3) counts.set(w, (counts.get(w) ?? 0) + 1);
        const topWords = [...counts.entries()]
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .slice(0, 5)
          .map(([w]) => w);
        return { words: words.length, lines: text.split('\n').length, chars: text.length, topWords };
      },
    }),
  ];
}
