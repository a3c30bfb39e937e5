import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { ErrorTypes, failure } from '../errors';
import { defineTool, type ToolDefinition } from './registry';

export interface BuiltinToolOptions {
  /** Files tools may touch only inside this directory. */
  workspace: string;
  /** URL prefixes `http_post` may call. */
  httpAllowlist: string[];
}

/** Resolves a workspace-relative path, refusing anything that escapes the workspace. */
function insideWorkspace(workspace: string, path: string): string {
  const root = resolve(workspace);
  const full = resolve(root, path);
  if (full !== root && !full.startsWith(root + sep)) {
    throw failure(ErrorTypes.ToolRejected, `path ${path} is outside the workspace ${root}`);
  }
  return full;
}

async function readWorkspaceFile(workspace: string, path: string): Promise<string> {
  try {
    return await readFile(insideWorkspace(workspace, path), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw failure(ErrorTypes.ToolRejected, `no file ${path} in the workspace`);
    }
    throw err;
  }
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
        const full = insideWorkspace(workspace, dir);
        const entries = await readdir(full, { withFileTypes: true });
        return { files: entries.filter((e) => e.isFile()).map((e) => relative(resolve(workspace), join(full, e.name))).sort() };
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
        const full = insideWorkspace(workspace, path);
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
        if (!options.httpAllowlist.some((prefix) => url.startsWith(prefix))) {
          throw failure(ErrorTypes.ToolRejected, `${url} is not in tools.httpAllowlist`);
        }
        const response = await fetch(url, {
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
          const retryable = [408, 409, 429].includes(response.status) || response.status >= 500;
          throw failure(retryable ? ErrorTypes.ToolFailed : ErrorTypes.ToolRejected, `POST ${url} answered ${response.status}: ${text.slice(0, 200)}`);
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
      output: z.object({ words: z.number().int(), lines: z.number().int(), chars: z.number().int(), topWords: z.array(z.string()) }),
      handler: async ({ text }) => {
        const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
        const counts = new Map<string, number>();
        for (const w of words) if (w.length > 3) counts.set(w, (counts.get(w) ?? 0) + 1);
        const topWords = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5).map(([w]) => w);
        return { words: words.length, lines: text.split('\n').length, chars: text.length, topWords };
      },
    }),
  ];
}
