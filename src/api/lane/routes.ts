/**
 * The review lane's routes (under /ui): sign in with a token (kept in an HttpOnly, SameSite=Strict
 * cookie), the inbox of approvals waiting for the caller, a task's page with its timeline and audit
 * verdict, and deciding with a reason. Every form carries a CSRF token; posts from another origin
 * are refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FrontDoor } from '../actions';
import { demand, may, type Authenticator, type Caller } from '../auth';
import { ApiError, parseInput } from '../errors';
import { listTasksQuerySchema, taskParamsSchema } from '../schemas';
import { mayApprove, mayDecide, type TaskDirectory } from '../tasks';
import { timelineOf } from '../timeline';
import { APP_CSS, APP_JS } from './assets';
import {
  inboxFragment,
  inboxPage,
  loginPage,
  taskFragment,
  taskPage,
  tasksPage,
  type PageContext,
  type TaskView,
} from './pages';
import {
  clearedCookie,
  cookie,
  CsrfTokens,
  LOGIN_COOKIE,
  parseCookies,
  same,
  SESSION_COOKIE,
} from './session';

declare module 'fastify' {
  interface FastifyRequest {
    /** The lane's session credential (the token in the cookie), for CSRF tokens. */
    laneCredential?: string;
  }
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const loginBody = z
  .object({ csrf: z.string().max(200), token: z.string().trim().min(1, 'paste your token').max(8192) })
  .strict();
const csrfBody = z.object({ csrf: z.string().max(200) }).loose();
const decisionForm = z
  .object({
    csrf: z.string().max(200),
    decision: z.enum(['approve', 'reject']),
    approvalId: z.string().min(1).max(100),
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    reason: z.string().max(2000).optional(),
  })
  .strict();
const decidedQuery = z.object({ decided: z.enum(['approve', 'reject']).optional() }).loose();
const inboxQuery = z
  .object({
    pageToken: z
      .string()
      .max(4096)
      .regex(/^[A-Za-z0-9_-]*$/)
      .optional(),
  })
  .loose();

export interface LaneDeps {
  auth: Authenticator;
  door: FrontDoor;
  directory: TaskDirectory;
}

export async function registerLane(app: FastifyInstance, { auth, door, directory }: LaneDeps): Promise<void> {
  const csrf = new CsrfTokens();

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      const params = new URLSearchParams(body as string);
      const out: Record<string, string> = {};
      for (const [k, v] of params) out[k] = v;
      done(null, out);
    },
  );

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-frame-options', 'DENY');
    // not no-referrer: with it Chromium sends a same-origin form post as Origin: null
    reply.header('referrer-policy', 'same-origin');
    return payload;
  });

  // The caller of a cookie route; a page asked for without a session goes to the sign-in page. A
  // route's own hook, so it runs after the rate limiter's.
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const credential = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    try {
      request.caller = await auth.authenticate(credential);
      request.laneCredential = credential;
    } catch (err) {
      if (request.method === 'GET' && !request.url.includes('/fragment'))
        return reply.redirect('/ui/login', 303);
      throw err;
    }
    if (request.method !== 'GET') sameOrigin(request);
  };
  app.addHook('onRoute', (route) => {
    if (route.config?.auth !== 'cookie') return;
    const earlier =
      route.onRequest === undefined
        ? []
        : Array.isArray(route.onRequest)
          ? route.onRequest
          : [route.onRequest];
    route.onRequest = [...earlier, authenticate] as typeof route.onRequest;
  });
  // Every form carries the session's CSRF token.
  app.addHook('preHandler', async (request) => {
    if (request.routeOptions.config?.auth !== 'cookie' || request.method === 'GET') return;
    const body = parseInput(csrfBody, request.body, 'body');
    if (!csrf.check(request.laneCredential!, body.csrf))
      throw new ApiError(
        'forbidden',
        'the form is out of date or not from this site (CSRF token): reload the page',
      );
  });

  const ctx = (request: FastifyRequest): PageContext => ({
    caller: request.caller,
    csrf: request.laneCredential ? csrf.forSession(request.laneCredential) : undefined,
  });
  const htmlReply = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(body);
  const cookieRoute = { config: { auth: 'cookie' as const } };
  const open = { config: { auth: 'none' as const } };

  app.get('/assets/app.js', open, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(APP_JS),
  );
  app.get('/assets/app.css', open, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(APP_CSS),
  );

  app.get('/login', open, async (request, reply) => {
    const token = csrf.newLogin();
    reply.header(
      'set-cookie',
      cookie(LOGIN_COOKIE, token, {
        path: '/ui/login',
        maxAgeSeconds: 3600,
        secure: request.protocol === 'https',
      }),
    );
    return htmlReply(reply, loginPage(token));
  });

  app.post('/login', open, async (request, reply) => {
    sameOrigin(request);
    const expected = parseCookies(request.headers.cookie)[LOGIN_COOKIE];
    const body = parseInput(loginBody, request.body, 'body');
    const fresh = csrf.newLogin();
    const again = (problem: string, status: number) => {
      reply.header(
        'set-cookie',
        cookie(LOGIN_COOKIE, fresh, {
          path: '/ui/login',
          maxAgeSeconds: 3600,
          secure: request.protocol === 'https',
        }),
      );
      return htmlReply(reply, loginPage(fresh, problem), status);
    };
    if (!expected || !same(expected, body.csrf))
      return again('The sign-in form is out of date: try again.', 403);
    let caller: Caller;
    try {
      caller = await auth.authenticate(body.token);
    } catch (err) {
      return again(err instanceof ApiError ? err.message : 'the token was not accepted', 401);
    }
    if (!may(caller, 'read'))
      return again(`${caller.identity} has no role that may use the review lane (viewer, approver…)`, 403);
    const secure = request.protocol === 'https';
    reply.header('set-cookie', [
      cookie(SESSION_COOKIE, body.token, { path: '/ui', secure }),
      `${LOGIN_COOKIE}=; Path=/ui/login; Max-Age=0; HttpOnly; SameSite=Strict`,
    ]);
    return reply.redirect(may(caller, 'decide') ? '/ui/' : '/ui/tasks', 303);
  });

  app.post('/logout', cookieRoute, async (_request, reply) => {
    reply.header('set-cookie', clearedCookie(SESSION_COOKIE, '/ui'));
    return reply.redirect('/ui/login', 303);
  });

  const inbox = async (request: FastifyRequest) => {
    const caller = request.caller!;
    demand(caller, 'decide');
    const { pageToken } = parseInput(inboxQuery, request.query, 'query');
    const page = await directory.approvalsFor(caller, 50, pageToken);
    return inboxFragment(ctx(request), page.approvals, page.nextPageToken);
  };
  app.get('/', cookieRoute, async (request, reply) => {
    if (!may(request.caller!, 'decide')) return reply.redirect('/ui/tasks', 303);
    return htmlReply(reply, inboxPage(ctx(request), await inbox(request)));
  });
  app.get('/inbox/fragment', cookieRoute, async (request, reply) =>
    htmlReply(reply, (await inbox(request)).value),
  );

  app.get('/tasks', cookieRoute, async (request, reply) => {
    demand(request.caller!, 'read');
    const raw = Object.fromEntries(
      Object.entries(request.query as Record<string, string>).filter(([, v]) => v !== ''),
    );
    const q = parseInput(listTasksQuerySchema, raw, 'query');
    const page = await directory.list(q, q.pageSize, q.pageToken);
    return htmlReply(reply, tasksPage(ctx(request), page.tasks, q, page.nextPageToken));
  });

  const view = async (request: FastifyRequest): Promise<TaskView> => {
    const caller = request.caller!;
    demand(caller, 'read');
    const { taskId } = parseInput(taskParamsSchema, request.params, 'params');
    const [state, audit] = await Promise.all([directory.state(taskId), door.audit(caller, taskId)]);
    const pending = state.status === 'awaiting_approval' ? state.pendingApproval : undefined;
    const decides = !!pending && may(caller, 'decide') && mayDecide(caller, pending);
    return {
      state,
      timeline: timelineOf(audit.entries),
      verdict: audit.verification,
      temporalUiUrl: door.temporalLink(taskId),
      mayDecide: decides,
      mayApprove: decides && mayApprove(caller, pending!),
    };
  };
  app.get('/tasks/:taskId', cookieRoute, async (request, reply) => {
    const { decided } = parseInput(decidedQuery, request.query, 'query');
    const notice = decided
      ? `You ${decided === 'approve' ? 'approved' : 'rejected'} the action; the task goes on below.`
      : undefined;
    return htmlReply(reply, taskPage(ctx(request), await view(request), notice));
  });
  app.get('/tasks/:taskId/fragment', cookieRoute, async (request, reply) =>
    htmlReply(reply, taskFragment(ctx(request), await view(request)).value),
  );

  app.post('/tasks/:taskId/decision', cookieRoute, async (request, reply) => {
    const { taskId } = parseInput(taskParamsSchema, request.params, 'params');
    const form = parseInput(decisionForm, request.body, 'body');
    await door.decide(request.caller!, taskId, {
      decision: form.decision,
      approvalId: form.approvalId,
      digest: form.digest,
      ...(form.reason ? { reason: form.reason } : {}),
    });
    return reply.redirect(`/ui/tasks/${encodeURIComponent(taskId)}?decided=${form.decision}`, 303);
  });
}

/** A post from a page of another origin is refused (besides SameSite cookies and CSRF tokens). */
function sameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (!origin || origin === 'null') {
    if (origin === 'null') throw new ApiError('forbidden', 'posts from an opaque origin are refused');
    return;
  }
  const host = request.headers.host;
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (!host || originHost !== host) throw new ApiError('forbidden', 'posts from another site are refused');
}
