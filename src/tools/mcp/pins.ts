import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { canonicalJson } from '../../audit/canonicalJson';
import { sha256Hex } from '../../audit/sha256';
import { StewardError } from '../../errors';
import type { McpAnnotations } from './annotations';

/** A tool as an MCP server lists it (the parts Steward pins). */
export interface McpToolListing {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  /** Other fields (a title) may be there too; only the hints are pinned. */
  annotations?: McpAnnotations;
}

/** The behavioural hints only: a new title or display hint does not change what a tool does. */
function pinnedHints(annotations: McpToolListing['annotations']): McpAnnotations {
  const out: McpAnnotations = {};
  for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
    if (typeof annotations?.[key] === 'boolean') out[key] = annotations[key];
  }
  return out;
}

/**
 * The pin of a tool's definition: sha256 of the canonical JSON (RFC 8785) of its name, description,
 * input schema and behavioural hints. Any change to what the model is told or to what the tool says
 * it does makes another hash.
 */
export function mcpDefinitionHash(tool: McpToolListing): string {
  return sha256Hex(
    canonicalJson({
      name: tool.name,
      description: tool.description ?? '',
      inputSchema: tool.inputSchema,
      annotations: pinnedHints(tool.annotations),
    }),
  );
}

export interface PinnedTool {
  hash: string;
  description: string;
  inputSchema: Record<string, unknown>;
  annotations: McpAnnotations;
}

export interface PinnedServer {
  acceptedAt: string;
  /** By the server's own tool name. */
  tools: Record<string, PinnedTool>;
}

interface PinFile {
  version: 1;
  servers: Record<string, PinnedServer>;
}

/** Where the accepted tool definitions of this install's MCP servers are kept. */
export function pinFilePath(dataDir: string): string {
  return join(dataDir, 'mcp-pins.json');
}

export class PinFileError extends StewardError {}

export function readPins(dataDir: string): Record<string, PinnedServer> {
  const file = pinFilePath(dataDir);
  if (!existsSync(file)) return {};
  let parsed: PinFile;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as PinFile;
  } catch (err) {
    throw new PinFileError(
      `${file} is not readable JSON (${(err as Error).message}); accept the servers again`,
    );
  }
  if (parsed?.version !== 1 || typeof parsed.servers !== 'object' || parsed.servers === null)
    throw new PinFileError(`${file} is not a Steward pin file (version 1); accept the servers again`);
  return parsed.servers;
}

/** Records what a server lists now as accepted (replacing what was accepted before). Atomic. */
export function writeServerPins(dataDir: string, server: string, tools: McpToolListing[]): PinnedServer {
  const servers = readPins(dataDir);
  const pinned: PinnedServer = {
    acceptedAt: new Date().toISOString(),
    tools: Object.fromEntries(
      tools.map((t) => [
        t.name,
        {
          hash: mcpDefinitionHash(t),
          description: t.description ?? '',
          inputSchema: t.inputSchema,
          annotations: pinnedHints(t.annotations),
        },
      ]),
    ),
  };
  servers[server] = pinned;
  const file = pinFilePath(dataDir);
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${randomUUID()}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ version: 1, servers } satisfies PinFile, null, 2)}\n`, {
    mode: 0o600,
  });
  renameSync(temp, file);
  return pinned;
}

/** How what a server lists now compares with what was accepted. */
export type PinCheck =
  | { status: 'accepted'; hash: string }
  | { status: 'changed'; hash: string; acceptedHash: string }
  | { status: 'new'; hash: string };

export function checkPin(pinned: PinnedServer | undefined, tool: McpToolListing): PinCheck {
  const hash = mcpDefinitionHash(tool);
  const accepted = pinned?.tools[tool.name];
  if (!accepted) return { status: 'new', hash };
  if (accepted.hash !== hash) return { status: 'changed', hash, acceptedHash: accepted.hash };
  return { status: 'accepted', hash };
}
