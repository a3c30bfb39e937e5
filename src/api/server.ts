/**
 * The front door: the HTTP API (/v1, /openapi.json) and the review lane (/ui) on one fastify server.
 * Every route but the lane's sign-in page and its two static files needs a caller: a bearer token
 * (API) or the lane's session cookie. Every route is rate limited per client address, and no body
 * may exceed api.bodyLimitBytes.
 */
import { auditKeys } from '../runtime/localStack';
import rateLimit from '@fastify/rate-limit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load';
import type { StewardClient } from '../runtime/client';
import type { BlobStore } from '../stores/blobStore';
import type { TaskNarrowing } from '../workflows/contract';
import { FrontDoor } from './actions';
import { bearerToken, createAuthenticator, demand, type Authenticator, type Caller } from './auth';
import { ApiError, parseInput, type ErrorBody } from './errors';
import { errorPage } from './lane/pages';
import { registerLane } from './lane/routes';
import { OPERATIONS, openApiDocument } from './openapi';
import {
  cancelBodySchema,
  decisionBodySchema,
  listApprovalsQuerySchema,
  listTasksQuerySchema,
  startTaskBodySchema,
  taskParamsSchema,
} from './schemas';
import { TaskDirectory } from './tasks';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
  interface FastifyContextConfig {
    /** How the route's caller is known: a bearer token, the lane's cookie, or not at all. */
    auth?: 'bearer' | 'cookie' | 'none';
  }
}

export interface ApiServerOptions {
  config: LoadedConfig;
  client: StewardClient;
  blobs?: BlobStore;
  /** The Temporal UI, for links to tasks (config's api.temporalUiUrl wins). */
  temporalUiUrl?: string;
  logger?: Logger;
  /** Identities besides the config's (steward dev's one-time token for the local user). */
  extraTokens?: Array<{ identity: string; roles: string[]; sha256: string; via?: Caller['via'] }>;
  /** How long an inbox reuses a waiting task's state while its visibility record is unchanged. */
  stateCacheMs?: number;
}

export interface ApiServer {
  app: FastifyInstance;
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

function sendError(reply: FastifyReply, err: ApiError, headers: Record<string, string> = {}) {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  return reply.code(err.status).headers(headers).type('application/json; charset=utf-8').send(body);
}

/** Any error as the API answers it: a stable code, a message naming what was wrong. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as FastifyError & { statusCode?: number };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('body_too_large', 'body: larger than this server accepts (api.bodyLimitBytes)');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 'body: send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('invalid_request', 'body: empty, but the content type says JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('invalid_request', 'body: not valid JSON');
  }
  if (e?.statusCode === 429) return new ApiError('rate_limited', e.message || 'too many requests');
  if (e instanceof SyntaxError || e?.statusCode === 400)
    return new ApiError('invalid_request', `body: ${e.message}`.slice(0, 300));
  if (e?.statusCode === 413) return new ApiError('body_too_large', 'body: larger than this server accepts');
  if (e?.statusCode === 415) return new ApiError('unsupported_media_type', 'body: send application/json');
  if (isUnavailable(err))
    return new ApiError('unavailable', 'the Temporal server does not answer; try again');
  return new ApiError('internal', 'internal error (logged on the server)');
}

function isUnavailable(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : '';
  return /Failed to connect|UNAVAILABLE|ECONNREFUSED|deadline/i.test(msg);
}

/** Builds the server (not listening): the JSON API, /openapi.json and the review lane. */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { config } = options;
  const api = config.api;
  const auth: Authenticator = createAuthenticator(api, options.extraTokens);
  const directory = new TaskDirectory(options.client, {
    blobs: options.blobs,
    stateCacheMs: options.stateCacheMs,
  });
  const door = new FrontDoor(
    directory,
    {
      temporalUiUrl: api.temporalUiUrl ?? options.temporalUiUrl,
      namespace: options.client.client.options.namespace,
    },
    auditKeys(config),
  );
  const app = Fastify({
    bodyLimit: api.bodyLimitBytes,
    // warnings and errors only: a line per request would drown the worker's log
    ...(options.logger
      ? { loggerInstance: options.logger.child({ component: 'api' }, { level: 'warn' }) }
      : {}),
    trustProxy: false,
    // a task id is at most 200 characters; nothing else in a URL needs much more
    routerOptions: { maxParamLength: 300 },
    return503OnClosing: true,
  });
  app.decorateRequest('caller', undefined);

  await app.register(rateLimit, {
    global: true,
    max: api.rateLimit.max,
    timeWindow: api.rateLimit.windowSeconds * 1000,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) => {
      const err = new Error(
        `too many requests: at most ${context.max} per ${api.rateLimit.windowSeconds} s from one address; retry in ${Math.ceil(context.ttl / 1000)} s`,
      ) as Error & { statusCode: number };
      err.statusCode = 429;
      return err;
    },
  });

  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err);
    if (apiError.code === 'internal' || apiError.code === 'unavailable')
      request.log.error({ err, url: request.url }, 'request failed');
    if (request.url.startsWith('/ui') && apiError.code !== 'rate_limited') {
      return reply
        .code(apiError.status)
        .type('text/html; charset=utf-8')
        .send(laneErrorPage(request, apiError));
    }
    return sendError(reply, apiError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ApiError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  // JSON bodies only (the lane adds its form bodies in its own context).
  app.removeContentTypeParser('text/plain');
  // Who is calling: a route's own hook, so it runs after the rate limiter's (a flood of bad tokens
  // is limited too). Every route says how (bearer, the lane's cookie, or none).
  const authenticate = async (request: FastifyRequest): Promise<void> => {
    request.caller = await auth.authenticate(bearerToken(request.headers.authorization));
  };
  app.addHook('onRoute', (route) => {
    if ((route.config?.auth ?? 'bearer') !== 'bearer') return;
    route.onRequest = [...asArray(route.onRequest), authenticate] as typeof route.onRequest;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });

  const caller = (request: FastifyRequest): Caller => request.caller!;
  const version = (
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const openapi = openApiDocument(version);

  app.get('/openapi.json', async () => openapi);
  app.get('/v1/me', async (request) => {
    const c = caller(request);
    return { identity: c.identity, roles: c.roles, via: c.via };
  });

  app.post('/v1/tasks', async (request, reply) => {
    const c = caller(request);
    demand(c, 'operate');
    const body = parseInput(startTaskBodySchema, request.body, 'body');
    const started = await door.start(c, { ...body, narrow: body.narrow as TaskNarrowing | undefined });
    return reply.code(201).send({ ...started, temporalUiUrl: door.temporalLink(started.taskId) });
  });

  app.get('/v1/tasks', async (request) => {
    demand(caller(request), 'read');
    const q = parseInput(listTasksQuerySchema, request.query, 'query');
    const page = await directory.list(q, q.pageSize, q.pageToken);
    return {
      tasks: page.tasks.map(({ runId: _r, historyLength: _h, ...row }) => row),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  });

  app.get('/v1/tasks/:taskId', async (request) => {
    demand(caller(request), 'read');
    const { taskId } = parseInput(taskParamsSchema, request.params, 'params');
    const state = await directory.state(taskId);
    return { ...state, temporalUiUrl: door.temporalLink(taskId) };
  });

  app.post('/v1/tasks/:taskId/decision', async (request) => {
    const c = caller(request);
    demand(c, 'decide');
    const { taskId } = parseInput(taskParamsSchema, request.params, 'params');
    const raw = request.body;
    if (raw && typeof raw === 'object' && 'identity' in raw)
      throw new ApiError(
        'invalid_request',
        'body.identity: the decider is the identity of your token; leave identity out',
      );
    const body = parseInput(decisionBodySchema, raw, 'body');
    return door.decide(c, taskId, body);
  });

  app.post('/v1/tasks/:taskId/cancel', async (request, reply) => {
    const c = caller(request);
    demand(c, 'operate');
    const { taskId } = parseInput(taskParamsSchema, request.params, 'params');
    const body = parseInput(cancelBodySchema, request.body ?? undefined, 'body');
    await door.cancel(c, taskId, body.reason);
    return reply.code(202).send({ taskId, cancelled: true });
  });

  app.get('/v1/tasks/:taskId/audit', async (request) => {
    const { taskId } = parseInput(taskParamsSchema, request.params, 'params');
    return door.audit(caller(request), taskId);
  });

  app.get('/v1/tasks/:taskId/audit/verify', async (request) => {
    const { taskId } = parseInput(taskParamsSchema, request.params, 'params');
    return (await door.audit(caller(request), taskId)).verification;
  });

  app.get('/v1/approvals', async (request) => {
    const c = caller(request);
    demand(c, 'decide');
    const q = parseInput(listApprovalsQuerySchema, request.query, 'query');
    return directory.approvalsFor(c, q.pageSize, q.pageToken);
  });

  refuseOtherMethods(app as unknown as FastifyInstance);
  await app.register(async (lane) => registerLane(lane, { auth, door, directory }), { prefix: '/ui' });
  app.get('/', { config: { auth: 'none' } }, async (_request, reply) => reply.redirect('/ui/', 303));
  return app as unknown as FastifyInstance;
}

/**
 * A method a known path does not declare is 405 with an Allow header (RFC 9110), not a 404: one
 * route per path for every other method fastify knows. The caller is still checked first.
 */
function refuseOtherMethods(app: FastifyInstance): void {
  const declared = new Map<string, string[]>();
  for (const op of OPERATIONS) {
    const url = op.path.replace(/\{(\w+)\}/g, ':$1');
    declared.set(url, [...(declared.get(url) ?? []), op.method.toUpperCase()]);
  }
  for (const [url, methods] of declared) {
    const allowed = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
    const others = app.supportedMethods.filter((m) => !allowed.includes(m));
    const allow = allowed.join(', ');
    app.route({
      method: others,
      url,
      // before the body is parsed: a PUT with a text body is still the wrong method, not a 415
      preParsing: async (request, reply) => {
        const err = new ApiError('method_not_allowed', `${request.method} is not allowed here; use ${allow}`);
        return sendError(reply, err, { allow });
      },
      handler: async () => undefined,
    });
  }
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function laneErrorPage(request: FastifyRequest, err: ApiError): string {
  return errorPage({ caller: request.caller }, err.status, err.message, '/ui/');
}

/** Builds the server and listens on api.host:api.port (or the given ones). */
export async function startApiServer(
  options: ApiServerOptions & { host?: string; port?: number },
): Promise<ApiServer> {
  const app = await createApiServer(options);
  const host = options.host ?? options.config.api.host;
  await app.listen({ host, port: options.port ?? options.config.api.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.config.api.port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return { app, url: `http://${shownHost}:${port}`, close: () => app.close() };
}
