import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { McpServerConfig } from '../../config/mcpSchema';
import { StewardError } from '../../errors';
import { findBwrap, protectedPaths, sandboxedCommand } from '../sandbox';
import { registerSecret } from '../../shared/secrets';
import type { McpToolListing } from './pins';

/** Bounds on what a server may list. */
const MAX_TOOLS = 1000;
const MAX_LIST_PAGES = 50;
const STDERR_TAIL_CHARS = 2000;

/** A JSON-RPC error the server sent about the request itself (its connection still works). */
function answeredWithError(err: unknown): boolean {
  return (
    err instanceof McpError &&
    [
      ErrorCode.InvalidParams,
      ErrorCode.MethodNotFound,
      ErrorCode.InvalidRequest,
      ErrorCode.InternalError,
    ].includes(err.code)
  );
}

/** A server Steward could not reach, start or understand; the message says which and why. */
export class McpServerUnavailable extends StewardError {}

/** The result of a tools/call, as the SDK gives it. */
export interface McpCallResult {
  content?: unknown[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** The worker's environment variables a server's config names, resolved; a missing one is an error. */
function fromEnvironment(
  server: string,
  field: string,
  names: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, variable] of Object.entries(names)) {
    const value = process.env[variable];
    if (value === undefined)
      throw new McpServerUnavailable(
        `MCP server ${server}: ${field}.${key} reads the environment variable ${variable}, which is not set`,
      );
    registerSecret(value); // logs and errors never show it
    out[key] = value;
  }
  return out;
}

/** What an untrusted server must not see of the install that starts it. */
export interface McpInstall {
  dataDir: string;
  /** The config file; by default the one `loadConfig` reads (STEWARD_CONFIG, else ./steward.yaml). */
  configFile?: string;
  policyFile?: string;
}

/**
 * One MCP server: connects on first use (the handshake and the tool listing bounded by the
 * configured timeout), is reused across calls, and connects again after the connection dies (a
 * stdio server that exits, an HTTP session that ends). `onTools` sees every listing, so the caller
 * can check it against what was accepted before any call uses it.
 */
export class McpConnection {
  private client?: Client;
  private connecting?: Promise<{ client: Client; tools: McpToolListing[] }>;
  private stderrTail = '';
  private closed = false;

  constructor(
    readonly name: string,
    private readonly config: McpServerConfig,
    private readonly install: McpInstall,
    private readonly logger: Logger,
    private readonly onTools: (tools: McpToolListing[]) => void = () => undefined,
  ) {}

  /** What the server's process last wrote on stderr (for error messages). */
  get stderr(): string {
    return this.stderrTail.trim();
  }

  private transport(): Transport {
    const { config } = this;
    if (config.url) {
      const headers = fromEnvironment(this.name, 'headers', config.headers);
      return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers } });
    }
    const env = fromEnvironment(this.name, 'env', config.env);
    const transport = new StdioClientTransport({
      ...this.command(),
      env, // with the SDK's few defaults (PATH, HOME, USER…): nothing else of the worker's
      cwd: config.cwd,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-STDERR_TAIL_CHARS);
    });
    return transport;
  }

  /** The server's command line: under bubblewrap unless its config says `sandbox: false`. */
  private command(): { command: string; args: string[] } {
    const { command, args, cwd, sandbox } = this.config;
    if (sandbox === false) return { command: command!, args };
    // made now, so that it is masked rather than appearing later, unmasked
    mkdirSync(this.install.dataDir, { recursive: true, mode: 0o700 });
    return sandboxedCommand(
      {
        command: command!,
        args,
        cwd,
        network: sandbox?.network ?? false,
        writable: sandbox?.writable ?? [],
        hidden: [...protectedPaths(this.install), ...(sandbox?.hide ?? [])],
      },
      findBwrap(),
      { what: 'it', optOut: `declare it trusted with \`sandbox: false\` under mcpServers.${this.name}` },
    );
  }

  private describeFailure(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    const where = this.config.url ? this.config.url : [this.config.command, ...this.config.args].join(' ');
    const stderr = this.stderr ? `; its stderr: ${this.stderr.slice(-500)}` : '';
    return `MCP server ${this.name} (${where}) is unavailable: ${message}${stderr}`;
  }

  /** Connects (or reuses the connection) and returns the client and the tools it listed when it connected. */
  async connect(): Promise<{ client: Client; tools: McpToolListing[] }> {
    if (this.closed) throw new McpServerUnavailable(`MCP server ${this.name} is closed`);
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err instanceof McpServerUnavailable ? err : new McpServerUnavailable(this.describeFailure(err));
    });
    return this.connecting;
  }

  private async open(): Promise<{ client: Client; tools: McpToolListing[] }> {
    const client: Client = new Client(
      { name: 'steward', version: '0.1.0' },
      {
        capabilities: {},
        // A server that says its tools changed is listed again and checked like a reconnect's listing.
        listChanged: {
          tools: {
            autoRefresh: true,
            debounceMs: 0,
            onChanged: (error, tools) => {
              if (error || !tools) {
                this.lost(client); // cannot tell what changed: the next call connects afresh
                void client.close().catch(() => undefined);
              } else this.onTools(tools as McpToolListing[]);
            },
          },
        },
      },
    );
    const transport = this.transport();
    const timeoutMs = this.config.connectTimeoutSeconds * 1000;
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deadline.abort();
        reject(
          new Error(`it did not connect and list its tools within ${this.config.connectTimeoutSeconds} s`),
        );
      }, timeoutMs);
    });
    let exited: (() => void) | undefined;
    const died = new Promise<never>((_, reject) => {
      // a moment's grace: the request that failed (a 401, a spawn error) usually says more
      exited = () => setTimeout(() => reject(new Error('it closed the connection while starting')), 200);
    });
    client.onclose = () => exited?.();
    try {
      await Promise.race([
        client.connect(transport, { signal: deadline.signal, timeout: timeoutMs }),
        timedOut,
        died,
      ]);
      const tools = await Promise.race([this.listTools(client, deadline.signal, timeoutMs), timedOut, died]);
      client.onclose = () => this.lost(client);
      client.onerror = (err) =>
        this.logger.warn({ server: this.name, err: err.message }, 'MCP connection error');
      this.client = client;
      this.logger.info({ server: this.name, tools: tools.length }, 'MCP server connected');
      this.onTools(tools);
      return { client, tools };
    } catch (err) {
      client.onclose = undefined;
      await client.close().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async listTools(client: Client, signal: AbortSignal, timeout: number): Promise<McpToolListing[]> {
    const tools: McpToolListing[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const listed = await client.listTools(cursor ? { cursor } : undefined, { signal, timeout });
      for (const tool of listed.tools) tools.push(tool as McpToolListing);
      if (tools.length > MAX_TOOLS) throw new Error(`it lists more than ${MAX_TOOLS} tools`);
      cursor = listed.nextCursor;
      if (!cursor) return tools;
    }
    throw new Error(`its tool list goes on beyond ${MAX_LIST_PAGES} pages`);
  }

  /** The connection died: the next call connects again (and its listing is checked again). */
  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.connecting = undefined;
    if (!this.closed)
      this.logger.warn(
        { server: this.name, stderr: this.stderr.slice(-500) },
        'MCP server connection closed',
      );
  }

  async call(
    tool: string,
    args: Record<string, unknown>,
    options: {
      signal: AbortSignal;
      meta: Record<string, unknown>;
      onProgress?: (progress: unknown) => void;
      /** Runs once connected, before the call: a reconnect may have found the tool changed. */
      beforeCall?: () => void;
    },
  ): Promise<McpCallResult> {
    const { client } = await this.connect();
    options.beforeCall?.();
    try {
      const result = await client.callTool({ name: tool, arguments: args, _meta: options.meta }, undefined, {
        signal: options.signal,
        timeout: this.config.callTimeoutSeconds * 1000,
        maxTotalTimeout: this.config.callTimeoutSeconds * 1000,
        resetTimeoutOnProgress: true,
        onprogress: options.onProgress,
      });
      return result as McpCallResult;
    } catch (err) {
      // The server answered with a protocol error: the connection is fine. Anything else (a timeout, a
      // closed pipe, an HTTP session the server no longer knows): the next call starts afresh.
      if (!options.signal.aborted && !answeredWithError(err)) {
        this.lost(client);
        void client.close().catch(() => undefined);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
    await this.connecting?.then((c) => c.client.close()).catch(() => undefined);
  }
}
