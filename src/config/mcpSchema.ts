import { isAbsolute } from 'node:path';
import { z } from 'zod';

/**
 * `mcpServers:` in steward.yaml: Model Context Protocol servers whose tools become Steward tools
 * (src/tools/mcp/). A server is a command run over stdio or a streamable-HTTP URL. Secrets never
 * live in the file: `env` and `headers` name environment variables of the worker.
 */

const trust = z.enum(['local', 'private', 'public']);
const dataClass = z.enum(['public', 'internal', 'confidential']);
const effect = z.enum(['read', 'write', 'spend', 'irreversible']);
/** The name of an environment variable. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'expected an environment variable name');
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'expected an HTTP header name');

const absolutePath = z.string().min(1).max(4096).refine(isAbsolute, 'expected an absolute path');

/**
 * How a stdio server is confined (bubblewrap, src/shared/sandbox.ts): the system read-only, the data
 * directory, config and .env files masked, its own /tmp, no network unless `network: true`. `false`
 * runs it unconfined, as the worker's user: only for code you trust with the install's keys.
 */
export const mcpSandboxSchema = z.union(
  [
    z.literal(false),
    z
      .object({
        /** The host's network (a server that calls an API); without it, a loopback of its own only. */
        network: z.boolean().default(false),
        /** Absolute paths the server may write (each must exist, and none may hold the data directory). */
        writable: z.array(absolutePath).max(100).default([]),
        /** More absolute paths it must not see, besides the data directory, the config and .env files. */
        hide: z.array(absolutePath).max(100).default([]),
      })
      .strict(),
  ],
  {
    // an object is read as the object form: name its bad field rather than both forms
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const inner = issue.errors[1]?.[0];
      if (typeof issue.input === 'object' && issue.input !== null && inner)
        return `${inner.path.join('.')}: ${inner.message}`;
      return 'expected false (run unconfined) or { network?, writable?, hide? }';
    },
  },
);

/** What configuration says about one tool; for a server not marked trusted, annotations may only tighten it. */
export const mcpToolOverrideSchema = z
  .object({
    effect: effect.optional(),
    /** Class of the data the tool returns. */
    dataClass: dataClass.optional(),
    /** Whether the tool may send its input beyond the server (MCP's openWorldHint). */
    openWorld: z.boolean().optional(),
    /** Leave the tool out. */
    disabled: z.boolean().optional(),
  })
  .strict();

export const mcpServerSchema = z
  .object({
    /** A stdio server: the command and its arguments (no shell). */
    command: z.string().min(1).max(4096).optional(),
    args: z.array(z.string().max(4096)).max(1000).default([]),
    /** The server process's environment: its variable name → the worker's variable that holds the value. */
    env: z.record(envName, envName).default({}),
    /** The server process's working directory, relative to the config file's directory. */
    cwd: z.string().min(1).optional(),
    /** A streamable-HTTP server. */
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    /** HTTP headers: header name → the worker's environment variable that holds the value. */
    headers: z.record(headerName, envName).default({}),
    /**
     * Trust the server's tool annotations (readOnlyHint, destructiveHint, openWorldHint). Untrusted
     * (the default), they may only make a tool's effect and reach stricter than configuration says.
     */
    trusted: z.boolean().default(false),
    /**
     * Pin the tools it lists the first time the worker connects, instead of waiting for `steward tools
     * accept` (trust on first use). Changes after that are refused all the same.
     */
    acceptOnFirstUse: z.boolean().default(false),
    /** A stdio server runs under bubblewrap unless this is `false` (see mcpSandboxSchema). */
    sandbox: mcpSandboxSchema.optional(),
    /** Who runs the server, and so sees every tool's input: default `local` for stdio, `public` for a URL. */
    trust: trust.optional(),
    /** Class of the data its tools return, unless a tool says otherwise (default `internal`). */
    dataClass: dataClass.default('internal'),
    /** Connecting, the handshake and listing the tools must end within this (a hung server is given up). */
    connectTimeoutSeconds: z.number().positive().max(300).default(15),
    /** One tool call (the activity's own timeout bounds it too). */
    callTimeoutSeconds: z.number().positive().max(86_400).default(120),
    /** Per tool, by the server's tool name. */
    tools: z.record(z.string().min(1).max(128), mcpToolOverrideSchema).default({}),
  })
  .strict()
  .superRefine((server, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (!server.command === !server.url)
      issue('command', 'give either command (stdio) or url (streamable HTTP)');
    if (server.url) {
      if (server.args.length) issue('args', 'args are for a stdio server (command)');
      if (Object.keys(server.env).length) issue('env', 'env is for a stdio server (command)');
      if (server.cwd) issue('cwd', 'cwd is for a stdio server (command)');
      if (server.sandbox !== undefined)
        issue(
          'sandbox',
          'sandbox is for a stdio server (command): an HTTP server runs where Steward cannot confine it',
        );
      const url = new URL(server.url);
      if (url.username || url.password)
        issue('url', 'credentials do not belong in the file: use headers with an environment variable');
    }
    if (server.command && Object.keys(server.headers).length)
      issue('headers', 'headers are for an HTTP server (url)');
  });

/** A server's name prefixes its tools' names (`fs__read_file`), so it is short and plain. */
const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;

export const mcpServersSchema = z
  .record(z.string(), mcpServerSchema)
  .superRefine((servers, ctx) => {
    for (const name of Object.keys(servers).filter((n) => !SERVER_NAME.test(n)))
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `a server name is 1-32 letters, digits or - (its tools are named ${name}__<tool>)`,
      });
  })
  .default({});

export type McpServerConfig = z.output<typeof mcpServerSchema>;
export type McpToolOverride = z.output<typeof mcpToolOverrideSchema>;

/**
 * An MCP server is never handed a model provider's API key: `env` and `headers` may not read the
 * variable a provider's `apiKeyEnv` names (the key would reach code Steward does not trust).
 */
export function providerKeysStayWithProviders(
  config: {
    providers: Record<string, object>;
    mcpServers: Record<string, McpServerConfig>;
  },
  ctx: z.RefinementCtx,
): void {
  const keys = new Map<string, string>();
  for (const [name, provider] of Object.entries(config.providers))
    if ('apiKeyEnv' in provider && typeof provider.apiKeyEnv === 'string') keys.set(provider.apiKeyEnv, name);
  for (const [server, settings] of Object.entries(config.mcpServers))
    for (const field of ['env', 'headers'] as const)
      for (const [key, variable] of Object.entries(settings[field]))
        if (keys.has(variable))
          ctx.addIssue({
            code: 'custom',
            path: ['mcpServers', server, field, key],
            message: `reads ${variable}, the API key of provider ${keys.get(variable)}: an MCP server is never given a provider's key`,
          });
}
