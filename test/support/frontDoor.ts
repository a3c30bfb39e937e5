/**
 * The front door over real HTTP for tests: a Harness (worker on the suite's Temporal server), the API
 * and review lane listening on a free port, and tokens for a few identities with different roles.
 */
import type { AgentDefinition } from '../../src/agents/definition';
import { newToken } from '../../src/api/auth';
import { startApiServer, type ApiServer } from '../../src/api/server';
import type { StewardConfigInput } from '../../src/config/schema';
import { Harness } from './harness';

/** Writes one file through an approval; no model involved. */
export const fileWriter: AgentDefinition = {
  name: 'api-file-writer',
  description: 'writes one file after an approval',
  instructions: 'Write the file.',
  tools: ['read_file', 'write_file'],
  plan: [
    {
      id: 'write',
      kind: 'tool',
      tool: 'write_file',
      input: { path: '{{input.path}}', content: '{{input.content}}' },
    },
    { id: 'done', kind: 'finish', result: '{{input.result}}' },
  ],
};

export const IDENTITIES = {
  alice: ['approver'],
  bob: ['operator'],
  carol: ['viewer'],
  mallory: ['approver'],
  root: ['admin'],
} as const;

export type Who = keyof typeof IDENTITIES;

export interface FrontDoorFixture {
  harness: Harness;
  server: ApiServer;
  url: string;
  tokens: Record<Who, string>;
  /** fetch against the server as `who` (or with no token, or a raw Authorization header). */
  call(
    method: string,
    path: string,
    options?: {
      as?: Who | null;
      authorization?: string;
      body?: unknown;
      rawBody?: string;
      contentType?: string;
    },
  ): Promise<{ status: number; body: any; headers: Headers }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

export async function startFrontDoorFixture(
  options: { api?: StewardConfigInput['api']; temporalUiUrl?: string; harness?: Harness } = {},
): Promise<FrontDoorFixture> {
  const harness = options.harness ?? (await new Harness().start());
  harness.spec(fileWriter); // registers the agent with the harness's workers
  const tokens = {} as Record<Who, string>;
  const entries = Object.entries(IDENTITIES).map(([identity, roles]) => {
    const { token, sha256 } = newToken();
    tokens[identity as Who] = token;
    return { identity, roles: [...roles], sha256 };
  });
  const base = harness.config();
  // a test polls often: only the flood test asks for a tight rate limit
  const rateLimit = { max: 100_000, windowSeconds: 60 };
  const config = {
    ...base,
    // the door checks the heads the harness's workers sign
    signing: {
      ...base.signing,
      auditKeys: [{ id: harness.auditKey.keyId, publicKey: harness.auditKey.publicKey }],
    },
    api: { ...base.api, tokens: entries, rateLimit, ...options.api },
  };
  const server = await startApiServer({
    config: config as typeof base,
    client: harness.client,
    blobs: harness.blobs,
    temporalUiUrl: options.temporalUiUrl ?? 'http://127.0.0.1:8233',
    port: 0,
    host: '127.0.0.1',
  });
  const call: FrontDoorFixture['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = {};
    const who = o.as === undefined ? 'alice' : o.as;
    if (o.authorization !== undefined) headers.authorization = o.authorization;
    else if (who) headers.authorization = `Bearer ${tokens[who]}`;
    let body: string | undefined;
    if (o.rawBody !== undefined) body = o.rawBody;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await fetch(`${server.url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: the text as it is
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    harness,
    server,
    url: server.url,
    tokens,
    call,
    async stop() {
      await server.close();
      if (!options.harness) await harness.stop();
    },
  };
}
