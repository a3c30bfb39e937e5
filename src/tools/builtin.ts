import { fileTools } from './files';
import { checkAllowlist, httpPostTool } from './http';
import type { ToolDefinition } from './registry';
import { textStatsTool } from './text';
import { Workspace } from './workspace';

/** A file tool reads at most this much: the text goes to a model and into history. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** `http_post` keeps at most this much of an answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface BuiltinToolOptions {
  /** Files tools may touch only inside this directory. */
  workspace: string;
  /** URL prefixes `http_post` may call: http(s) URLs without credentials, query or fragment. */
  httpAllowlist: string[];
  /**
   * Absolute or workspace-relative paths no tool ever sees, even inside the workspace: Steward's
   * data directory (other tasks' history and blobs), its config file.
   */
  protectedPaths?: string[];
  /** Largest file `read_file` reads; a larger one is refused. */
  maxFileBytes?: number;
  /** Largest answer `http_post` keeps; a larger one is refused (after the POST was made). */
  maxResponseBytes?: number;
}

/** The built-in tools, in the order they are described. Throws on an invalid allowlist entry. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function builtinTools(options: BuiltinToolOptions): ToolDefinition<any, any>[] {
  checkAllowlist(options.httpAllowlist);
  const workspace = new Workspace(options.workspace, options.protectedPaths ?? []);
  return [
    ...fileTools(workspace, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES),
    httpPostTool(options.httpAllowlist, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES),
    textStatsTool,
  ];
}
