import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineTool, type ToolDefinition } from './registry';
import type { Workspace } from './workspace';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fileTools(workspace: Workspace, maxFileBytes: number): ToolDefinition<any, any>[] {
  return [
    defineTool({
      name: 'read_file',
      description: 'Read a UTF-8 text file from the workspace.',
      effect: 'read',
      dataClass: 'internal',
      input: z.object({ path: z.string().min(1).describe('path relative to the workspace') }).strict(),
      output: z.object({ path: z.string(), text: z.string() }),
      handler: async ({ path }) => ({
        path,
        text: (await workspace.read(path, maxFileBytes)).toString('utf8'),
      }),
    }),
    defineTool({
      name: 'list_files',
      description: 'List the files in a workspace directory.',
      effect: 'read',
      dataClass: 'internal',
      input: z.object({ dir: z.string().default('.') }).strict(),
      output: z.object({ files: z.array(z.string()) }),
      handler: async ({ dir }) => ({ files: await workspace.list(dir) }),
    }),
    defineTool({
      name: 'write_file',
      description: 'Write a UTF-8 text file in the workspace, replacing it if it exists.',
      effect: 'write',
      dataClass: 'internal',
      input: z.object({ path: z.string().min(1), content: z.string() }).strict(),
      output: z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() }),
      // Writing the same bytes again gives the same file: a retry with the same key has the same effect.
      handler: async ({ path, content }) => {
        await workspace.write(path, content);
        const bytes = Buffer.byteLength(content);
        return { path, bytes, sha256: createHash('sha256').update(content).digest('hex') };
      },
    }),
  ];
}
