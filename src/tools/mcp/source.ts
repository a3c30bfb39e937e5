import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { McpServerConfig } from '../../config/mcpSchema';
import { ErrorTypes, failure } from '../../errors';
import type { TrustTier } from '../../shared/types';
import type { ToolDefinition } from '../registry';
import { treatMcpTool, type McpToolTreatment } from './annotations';
import { McpConnection, McpServerUnavailable, type McpCallResult, type McpInstall } from './connection';
import { checkPin, readPins, writeServerPins, type McpToolListing, type PinnedServer } from './pins';

/** A Steward tool's name for an MCP server's tool: `<server>__<tool>` (characters a model API accepts). */
export function mcpToolName(server: string, tool: string): string {
  return `${server}__${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** What an MCP tool gives back, as Steward records it: its text, its structured content, other parts described. */
export const mcpToolOutputSchema = z.object({
  text: z.string(),
  structured: z.record(z.string(), z.unknown()).optional(),
  /** Images, audio and binary resources are described (type, MIME type, URI, size), not recorded. */
  parts: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type McpToolOutput = z.infer<typeof mcpToolOutputSchema>;

/** A tool from an MCP server: a Steward tool that also says where its input may go and what it was pinned to. */
export interface McpToolDefinition extends ToolDefinition<z.ZodType, typeof mcpToolOutputSchema> {
  /** sha256 of the server's definition of the tool (pins.ts), as accepted. */
  definitionHash: string;
  /** The least private tier its input may reach (annotations.ts). */
  reach: TrustTier;
  mcp: { server: string; tool: string; treatment: McpToolTreatment };
}

/** One tool of one server, and whether the worker offers it. */
export interface McpToolStatus {
  name: string;
  tool: string;
  hash: string;
  available: boolean;
  reason?: string;
  treatment?: McpToolTreatment;
}

export interface McpServerStatus {
  server: string;
  connected: boolean;
  reason?: string;
  tools: McpToolStatus[];
}

export function outputOf(result: McpCallResult): McpToolOutput {
  const texts: string[] = [];
  const parts: Record<string, unknown>[] = [];
  for (const item of result.content ?? []) {
    const part = (item ?? {}) as Record<string, unknown>;
    const resource = part.resource as Record<string, unknown> | undefined;
    if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else if (part.type === 'resource' && typeof resource?.text === 'string') texts.push(resource.text);
    else {
      const data =
        typeof part.data === 'string' ? part.data : typeof resource?.blob === 'string' ? resource.blob : '';
      parts.push({
        type: String(part.type),
        ...(typeof (part.mimeType ?? resource?.mimeType) === 'string'
          ? { mimeType: part.mimeType ?? resource?.mimeType }
          : {}),
        ...(typeof (part.uri ?? resource?.uri) === 'string' ? { uri: part.uri ?? resource?.uri } : {}),
        ...(data ? { bytes: Math.floor((data.length * 3) / 4) } : {}),
      });
    }
  }
  return {
    text: texts.join('\n'),
    ...(result.structuredContent ? { structured: result.structuredContent } : {}),
    ...(parts.length ? { parts } : {}),
  };
}

/** A failed call, as the tool activity reports it: retried only when a retry may help. */
function callFailure(name: string, err: unknown): Error {
  if (err instanceof McpServerUnavailable) return failure(ErrorTypes.ToolFailed, `${name}: ${err.message}`);
  if (err instanceof McpError) {
    const transient = err.code === ErrorCode.RequestTimeout || err.code === ErrorCode.ConnectionClosed;
    return failure(transient ? ErrorTypes.ToolFailed : ErrorTypes.ToolRejected, `${name}: ${err.message}`);
  }
  return failure(ErrorTypes.ToolFailed, `${name}: ${err instanceof Error ? err.message : String(err)}`);
}

export interface McpToolsOptions extends McpInstall {
  logger: Logger;
}

/**
 * The tools of the configured MCP servers. Every server is connected when the worker starts (in
 * parallel, each bounded by its connect timeout); its tools are checked against the definitions
 * accepted for it (`steward tools accept <server>`), and each one that matches, whose input schema zod
 * can represent, becomes a Steward tool. Anything else (a server that is missing, crashes, hangs or is
 * not accepted yet; a tool that changed, is new, or has an unrepresentable schema) is reported with
 * its reason and left out, so tasks that need it stop with that reason while all else works.
 */
export class McpTools {
  private readonly connections = new Map<string, McpConnection>();
  private readonly statuses = new Map<string, McpServerStatus>();
  private readonly definitions: McpToolDefinition[] = [];

  private constructor(private readonly options: McpToolsOptions) {}

  static async connect(
    servers: Record<string, McpServerConfig>,
    options: McpToolsOptions,
  ): Promise<McpTools> {
    const tools = new McpTools(options);
    await Promise.all(Object.entries(servers).map(([name, config]) => tools.add(name, config)));
    return tools;
  }

  private async add(server: string, config: McpServerConfig): Promise<void> {
    const { logger, dataDir } = this.options;
    const connection = new McpConnection(server, config, this.options, logger, (listed) =>
      this.recheck(server, config, listed),
    );
    this.connections.set(server, connection);
    let listed: McpToolListing[];
    try {
      listed = (await connection.connect()).tools;
    } catch (err) {
      const reason = (err as Error).message;
      logger.error({ server }, reason);
      this.statuses.set(server, { server, connected: false, reason, tools: [] });
      return;
    }
    let pinned: PinnedServer | undefined;
    try {
      pinned = readPins(dataDir)[server];
    } catch (err) {
      const reason = `MCP server ${server}: ${(err as Error).message}`;
      logger.error({ server }, reason);
      this.statuses.set(server, { server, connected: false, reason, tools: [] });
      await connection.close();
      return;
    }
    if (!pinned && config.acceptOnFirstUse) {
      pinned = writeServerPins(dataDir, server, listed);
      logger.warn(
        { server, tools: listed.length },
        'MCP server accepted on first use: its tool definitions are pinned',
      );
    }
    const status = this.evaluate(server, config, listed, pinned);
    this.statuses.set(server, status);
    for (const tool of status.tools.filter((t) => !t.available))
      logger.error({ server, tool: tool.name }, tool.reason);
    for (const tool of status.tools.filter((t) => t.available)) {
      const listing = listed.find((l) => l.name === tool.tool)!;
      this.definitions.push(this.define(server, connection, listing, tool));
    }
  }

  /** Each listed tool's status against the pins and config. */
  private evaluate(
    server: string,
    config: McpServerConfig,
    listed: McpToolListing[],
    pinned: PinnedServer | undefined,
  ): McpServerStatus {
    const names = new Map<string, number>();
    for (const t of listed)
      names.set(mcpToolName(server, t.name), (names.get(mcpToolName(server, t.name)) ?? 0) + 1);
    const tools = listed
      .filter((t) => !config.tools[t.name]?.disabled)
      .map((listing): McpToolStatus => {
        const name = mcpToolName(server, listing.name);
        const pin = checkPin(pinned, listing);
        const base = { name, tool: listing.name, hash: pin.hash };
        const accept = `review it and run \`steward tools accept ${server}\``;
        if (!pinned)
          return {
            ...base,
            available: false,
            reason: `MCP server ${server} has not been accepted yet: ${accept}`,
          };
        if (pin.status === 'changed')
          return {
            ...base,
            available: false,
            reason: `tool ${listing.name} of MCP server ${server} changed since it was accepted (sha256 ${pin.acceptedHash.slice(0, 12)}… is now ${pin.hash.slice(0, 12)}…): ${accept}`,
          };
        if (pin.status === 'new')
          return {
            ...base,
            available: false,
            reason: `tool ${listing.name} of MCP server ${server} is new since it was accepted: ${accept}`,
          };
        if ((names.get(name) ?? 0) > 1)
          return {
            ...base,
            available: false,
            reason: `two tools of MCP server ${server} map to the name ${name}`,
          };
        try {
          toZod(listing.inputSchema);
        } catch (err) {
          return {
            ...base,
            available: false,
            reason: `tool ${listing.name} of MCP server ${server} has an input schema zod cannot represent: ${(err as Error).message}`,
          };
        }
        const override = config.tools[listing.name] ?? {};
        const treatment = treatMcpTool(
          {
            trusted: config.trusted,
            serverTrust: config.trust ?? (config.url ? 'public' : 'local'),
            serverDataClass: config.dataClass,
            ...override,
          },
          listing.annotations,
        );
        return { ...base, available: true, treatment };
      });
    return { server, connected: true, tools };
  }

  /** A new listing (after a reconnect): a tool that no longer matches what was accepted becomes unavailable. */
  private recheck(server: string, config: McpServerConfig, listed: McpToolListing[]): void {
    const before = this.statuses.get(server);
    if (!before) return; // the first listing: add() evaluates it
    let pinned: PinnedServer | undefined;
    try {
      pinned = readPins(this.options.dataDir)[server];
    } catch (err) {
      pinned = undefined; // an unreadable pin file accepts nothing
      this.options.logger.error({ server }, (err as Error).message);
    }
    const now = this.evaluate(server, config, listed, pinned);
    for (const tool of before.tools.filter((t) => t.available)) {
      const current = now.tools.find((t) => t.tool === tool.tool);
      if (!current || !current.available || current.hash !== tool.hash) {
        tool.available = false;
        tool.reason =
          current?.reason ??
          `tool ${tool.tool} of MCP server ${server} is no longer listed since it reconnected`;
        this.options.logger.error({ server, tool: tool.name }, tool.reason);
      }
    }
  }

  private define(
    server: string,
    connection: McpConnection,
    listing: McpToolListing,
    status: McpToolStatus,
  ): McpToolDefinition {
    const treatment = status.treatment!;
    const name = status.name;
    const unavailable = () => {
      const reason = this.reasonFor(name);
      if (reason) throw failure(ErrorTypes.ToolRejected, reason);
    };
    return {
      name,
      description: listing.description ?? '',
      effect: treatment.effect,
      dataClass: treatment.dataClass,
      placement: 'worker',
      input: toZod(listing.inputSchema),
      output: mcpToolOutputSchema,
      definitionHash: status.hash,
      reach: treatment.reach,
      mcp: { server, tool: listing.name, treatment },
      async handler(input, context) {
        unavailable();
        let result: McpCallResult;
        try {
          result = await connection.call(listing.name, input as Record<string, unknown>, {
            signal: context.signal,
            meta: { idempotencyKey: context.idempotencyKey },
            onProgress: (progress) => context.heartbeat(progress),
            beforeCall: unavailable,
          });
        } catch (err) {
          if (context.signal.aborted) throw context.signal.reason ?? err; // the activity's cancellation
          if ((err as { type?: string }).type === ErrorTypes.ToolRejected) throw err;
          throw callFailure(name, err);
        }
        const output = outputOf(result);
        if (result.isError)
          throw failure(
            ErrorTypes.ToolRejected,
            `${name} answered with an error: ${output.text || JSON.stringify(output)}`,
          );
        return output;
      },
    };
  }

  /** The tools the worker offers. */
  tools(): McpToolDefinition[] {
    return [...this.definitions];
  }

  /** Why a tool named like an MCP server's is not offered, or undefined when it is (or is no MCP tool). */
  reasonFor(name: string): string | undefined {
    for (const status of this.statuses.values()) {
      const tool = status.tools.find((t) => t.name === name);
      if (tool) return tool.available ? undefined : tool.reason;
      if (name.startsWith(`${status.server}__`)) {
        return status.connected
          ? `MCP server ${status.server} lists no tool ${name.slice(status.server.length + 2)}`
          : status.reason;
      }
    }
    return undefined;
  }

  report(): McpServerStatus[] {
    return [...this.statuses.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }
}

/** zod for an MCP tool's input schema; throws zod's reason when it cannot represent it. */
export function toZod(schema: Record<string, unknown>): z.ZodType {
  return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) as z.ZodType;
}
