/**
 * The HTTP API over real HTTP, against a worker on the suite's Temporal server: authentication on
 * every route (bearer tokens and OIDC JWTs verified against a JWKS this file serves), roles, the
 * decider taken from the token, bodies checked with the field named, limits on size and rate, paging,
 * and the whole path from start to approval to a verified audit trail.
 */
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPERATIONS } from '../../src/api/openapi';
import { eventually } from '../support/harness';
import { startFrontDoorFixture, type FrontDoorFixture } from '../support/frontDoor';

jest.setTimeout(90_000);

let door: FrontDoorFixture;

beforeAll(async () => {
  door = await startFrontDoorFixture({ api: { bodyLimitBytes: 256 * 1024 } });
});
afterAll(() => door?.stop());

async function startWrite(path: string, content: unknown, extra: Record<string, unknown> = {}) {
  const res = await door.call('POST', '/v1/tasks', {
    as: 'bob',
    body: { agent: 'api-file-writer', input: { path, content, result: `wrote ${path}` }, ...extra },
  });
  expect(res.status).toBe(201);
  return res.body as { taskId: string; principal: string; temporalUiUrl: string };
}

async function pendingFor(taskId: string) {
  return eventually(async () => {
    const res = await door.call('GET', `/v1/tasks/${taskId}`, { as: 'carol' });
    return res.body.status === 'awaiting_approval' ? res.body.pendingApproval : undefined;
  }, `${taskId} waiting for approval`);
}

const concrete = (path: string) => path.replace('{taskId}', 'some-task');

test('every route refuses a missing token, a wrong one, and a malformed header', async () => {
  const routes = [
    ...OPERATIONS.map((op) => [op.method.toUpperCase(), concrete(op.path)]),
    ['GET', '/openapi.json'],
  ];
  expect(routes.length).toBeGreaterThanOrEqual(10);
  for (const [method, path] of routes) {
    const body = method === 'POST' ? {} : undefined;
    for (const authorization of [
      undefined,
      'Bearer stw_not-a-token',
      'Basic YWxpY2U6YWxpY2U=',
      `Bearer ${'x'.repeat(9000)}`,
    ]) {
      const res = await door.call(method!, path!, { as: null, authorization, body });
      expect({ route: `${method} ${path}`, status: res.status, code: res.body.error?.code }).toEqual({
        route: `${method} ${path}`,
        status: 401,
        code: 'unauthorized',
      });
      expect(res.body.error.message).toEqual(expect.any(String));
    }
  }
});

test('a wrong role is refused with 403, naming the role needed', async () => {
  const start = await door.call('POST', '/v1/tasks', {
    as: 'carol',
    body: { agent: 'api-file-writer', input: { path: 'x.txt', content: 'x', result: 'x' } },
  });
  expect(start.status).toBe(403);
  expect(start.body.error).toEqual({
    code: 'forbidden',
    message: expect.stringMatching(/operator or admin/),
  });
  const inbox = await door.call('GET', '/v1/approvals', { as: 'bob' });
  expect(inbox.status).toBe(403);
  expect(inbox.body.error.message).toMatch(/approver or admin/);
  const decide = await door.call('POST', '/v1/tasks/some-task/decision', {
    as: 'carol',
    body: { decision: 'approve', approvalId: 'a', digest: 'f'.repeat(64) },
  });
  expect(decide.status).toBe(403);
  const cancel = await door.call('POST', '/v1/tasks/some-task/cancel', { as: 'alice', body: {} });
  expect(cancel.status).toBe(403);
  // starting on behalf of someone else needs admin
  const delegated = await door.call('POST', '/v1/tasks', {
    as: 'bob',
    body: { agent: 'api-file-writer', principal: 'zed', input: { path: 'z.txt', content: 'z', result: 'z' } },
  });
  expect(delegated.status).toBe(403);
  expect(delegated.body.error.message).toMatch(/on behalf of someone else/);
  const me = await door.call('GET', '/v1/me', { as: 'carol' });
  expect(me.body).toEqual({ identity: 'carol', roles: ['viewer'], via: 'token' });
});

test('start, inbox, approve as the token’s identity (a body identity is refused), finish, verified audit', async () => {
  const started = await startWrite('api/first.txt', 'hello from the API');
  expect(started.principal).toBe('bob');
  expect(started.temporalUiUrl).toBe(
    `http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(started.taskId)}`,
  );
  const pending = await pendingFor(started.taskId);

  // alice is the policy's approver: the task waits for her, not for mallory (also an approver by role)
  const inbox = await eventually(async () => {
    const res = await door.call('GET', '/v1/approvals?pageSize=200', { as: 'alice' });
    return res.body.approvals?.find((a: { taskId: string }) => a.taskId === started.taskId);
  }, 'the approval in alice’s inbox');
  expect(inbox).toMatchObject({
    agent: 'api-file-writer',
    principal: 'bob',
    dataClass: expect.any(String),
    mayApprove: true,
    request: {
      id: pending.id,
      digest: pending.digest,
      action: { tool: 'write_file', input: { path: 'api/first.txt', content: 'hello from the API' } },
      approvers: ['alice'],
    },
  });
  const mallorys = await door.call('GET', '/v1/approvals', { as: 'mallory' });
  expect(mallorys.body.approvals.map((a: { taskId: string }) => a.taskId)).not.toContain(started.taskId);

  const decision = { decision: 'approve', approvalId: pending.id, digest: pending.digest, reason: 'fine' };
  // the decider comes from the token: naming one in the body is refused, whoever it names
  const spoofed = await door.call('POST', `/v1/tasks/${started.taskId}/decision`, {
    as: 'mallory',
    body: { ...decision, identity: 'alice' },
  });
  expect(spoofed.status).toBe(400);
  expect(spoofed.body.error).toEqual({
    code: 'invalid_request',
    message: expect.stringMatching(/^body\.identity: /),
  });
  // mallory's own decision is refused by the workflow: she is not among the approvers
  const mallory = await door.call('POST', `/v1/tasks/${started.taskId}/decision`, {
    as: 'mallory',
    body: decision,
  });
  expect(mallory.status).toBe(403);
  expect(mallory.body.error.message).toMatch(/mallory may not approve/);
  // a digest that is not the pending action's
  const stale = await door.call('POST', `/v1/tasks/${started.taskId}/decision`, {
    as: 'alice',
    body: { ...decision, digest: 'a'.repeat(64) },
  });
  expect(stale.status).toBe(409);
  expect(stale.body.error.message).toMatch(/digest does not match/);

  const approved = await door.call('POST', `/v1/tasks/${started.taskId}/decision`, {
    as: 'alice',
    body: decision,
  });
  expect(approved.status).toBe(200);
  expect(approved.body).toEqual({ approvalId: pending.id, outcome: 'approved', identity: 'alice' });

  const done = await eventually(async () => {
    const res = await door.call('GET', `/v1/tasks/${started.taskId}`, { as: 'carol' });
    return res.body.status === 'completed' ? res.body : undefined;
  }, 'the task completed');
  expect(done.result).toBe('wrote api/first.txt');
  expect(readFileSync(join(door.harness.workspace, 'api', 'first.txt'), 'utf8')).toBe('hello from the API');

  const audit = await door.call('GET', `/v1/tasks/${started.taskId}/audit`, { as: 'carol' });
  expect(audit.status).toBe(200);
  // the chain, and the head the worker signed at the end, by a key the door trusts
  expect(audit.body.verification).toEqual({
    ok: true,
    head: done.audit.head,
    entries: done.audit.entries,
    complete: true,
    signed: { seq: done.audit.entries, keyId: door.harness.auditKey.keyId, fingerprint: expect.any(String) },
  });
  const decided = audit.body.entries.find((e: { kind: string }) => e.kind === 'approval.decided');
  expect(decided.data).toMatchObject({ identity: 'alice', decision: 'approve', reason: 'fine' });
  const verify = await door.call('GET', `/v1/tasks/${started.taskId}/audit/verify`, { as: 'carol' });
  expect(verify.body).toEqual(audit.body.verification);

  // deciding again once the task has ended is a conflict, said so
  const late = await door.call('POST', `/v1/tasks/${started.taskId}/decision`, {
    as: 'alice',
    body: decision,
  });
  expect(late.status).toBe(409);
});

test('a reject with a reason stops the task with approval_rejected; the reason is in the audit', async () => {
  const started = await startWrite('api/rejected.txt', 'never written');
  const pending = await pendingFor(started.taskId);
  const res = await door.call('POST', `/v1/tasks/${started.taskId}/decision`, {
    as: 'alice',
    body: { decision: 'reject', approvalId: pending.id, digest: pending.digest, reason: 'not this file' },
  });
  expect(res.body).toMatchObject({ outcome: 'rejected', identity: 'alice' });
  const state = await eventually(async () => {
    const r = await door.call('GET', `/v1/tasks/${started.taskId}`, { as: 'carol' });
    return r.body.status === 'stopped' ? r.body : undefined;
  }, 'stopped');
  expect(state.stopReason).toBe('approval_rejected');
});

test('bad bodies and queries are refused with the field named', async () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    [
      'POST',
      '/v1/tasks/t-1/decision',
      { decision: 'maybe', approvalId: 'a', digest: 'f'.repeat(64) },
      /^body\.decision: /,
    ],
    ['POST', '/v1/tasks/t-1/decision', { decision: 'approve', approvalId: 'a' }, /^body\.digest: /],
    [
      'POST',
      '/v1/tasks/t-1/decision',
      { decision: 'approve', approvalId: 'a', digest: 'xyz' },
      /^body\.digest: digest must be/,
    ],
    [
      'POST',
      '/v1/tasks/t-1/decision',
      { decision: 'approve', approvalId: 'a', digest: 'f'.repeat(64), reason: 'r'.repeat(2001) },
      /^body\.reason: /,
    ],
    ['POST', '/v1/tasks', { input: {} }, /^body\.agent: /],
    [
      'POST',
      '/v1/tasks',
      { agent: 'api-file-writer', narrow: { limits: { maxSteps: -1 } } },
      /^body\.narrow\.limits\.maxSteps: /,
    ],
    ['POST', '/v1/tasks', { agent: 'api-file-writer', surprise: 1 }, /^body: .*surprise/],
    ['POST', '/v1/tasks', ['not', 'an', 'object'], /^body: /],
  ];
  for (const [method, path, body, message] of cases) {
    const res = await door.call(method, path, { as: 'root', body });
    expect({ path, body, status: res.status, code: res.body.error?.code }).toEqual({
      path,
      body,
      status: 400,
      code: 'invalid_request',
    });
    expect(res.body.error.message).toMatch(message);
  }
  const notJson = await door.call('POST', '/v1/tasks', { as: 'root', rawBody: '{"agent": ' });
  expect(notJson.status).toBe(400);
  expect(notJson.body.error.code).toBe('invalid_request');
  const wrongType = await door.call('POST', '/v1/tasks', {
    as: 'root',
    rawBody: 'agent=x',
    contentType: 'text/plain',
  });
  expect(wrongType.status).toBe(415);
  expect(wrongType.body.error.code).toBe('unsupported_media_type');
  const query = await door.call('GET', '/v1/tasks?status=sleeping', { as: 'carol' });
  expect(query.status).toBe(400);
  expect(query.body.error.message).toMatch(/^query\.status: /);
  const quote = await door.call('GET', `/v1/tasks?agent=${encodeURIComponent("x' OR 1=1")}`, { as: 'carol' });
  expect(quote.status).toBe(400);
  expect(quote.body.error.message).toMatch(/^query\.agent: /);
  const size = await door.call('GET', '/v1/tasks?pageSize=5000', { as: 'carol' });
  expect(size.body.error.message).toMatch(/^query\.pageSize: /);
  const id = await door.call('GET', `/v1/tasks/${encodeURIComponent('../etc')}`, { as: 'carol' });
  expect(id.status).toBe(400);
  expect(id.body.error.message).toMatch(/^params\.taskId: /);
  const missing = await door.call('GET', '/v1/tasks/no-such-task-here', { as: 'carol' });
  expect(missing.status).toBe(404);
  expect(missing.body.error.code).toBe('not_found');
});

test('an oversized body is refused with 413 before it is read', async () => {
  const res = await door.call('POST', '/v1/tasks', {
    as: 'root',
    rawBody: JSON.stringify({ agent: 'api-file-writer', input: { content: 'x'.repeat(300 * 1024) } }),
  });
  expect(res.status).toBe(413);
  expect(res.body.error.code).toBe('body_too_large');
});

test('content kept in the blob store is shown in full in the inbox', async () => {
  const big = `${'a line of a large file\n'.repeat(4000)}the end`; // ~92 KiB: over the blob threshold
  const started = await startWrite('api/big.txt', big);
  const pending = await pendingFor(started.taskId);
  expect(pending.action.input.content).toBe(big);
  const inbox = await door.call('GET', '/v1/approvals?pageSize=200', { as: 'alice' });
  const item = inbox.body.approvals.find((a: { taskId: string }) => a.taskId === started.taskId);
  expect(item.request.action.input.content).toBe(big);
  await door.call('POST', `/v1/tasks/${started.taskId}/cancel`, {
    as: 'bob',
    body: { reason: 'done testing' },
  });
});

test('list filters on status, agent and principal and pages with next-page tokens; cancel stops a task', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await startWrite(`api/page-${i}.txt`, `page ${i}`)).taskId);
  for (const id of ids) await pendingFor(id);
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  const filter = 'status=awaiting_approval&agent=api-file-writer&principal=bob&pageSize=2';
  await eventually(async () => {
    const res = await door.call('GET', `/v1/tasks?${filter}`, { as: 'carol' });
    return res.body.tasks.filter((t: { taskId: string }) => ids.includes(t.taskId)).length === 2 ||
      res.body.tasks.length === 2
      ? true
      : undefined;
  }, 'visibility caught up');
  do {
    const res = await door.call('GET', `/v1/tasks?${filter}${token ? `&pageToken=${token}` : ''}`, {
      as: 'carol',
    });
    expect(res.status).toBe(200);
    expect(res.body.tasks.length).toBeLessThanOrEqual(2);
    for (const t of res.body.tasks) {
      expect(t).toMatchObject({ agent: 'api-file-writer', principal: 'bob', status: 'awaiting_approval' });
      seen.push(t.taskId);
    }
    token = res.body.nextPageToken;
    pages++;
  } while (token && pages < 20);
  expect(pages).toBeGreaterThanOrEqual(2);
  expect(seen).toEqual(expect.arrayContaining(ids));
  expect(new Set(seen).size).toBe(seen.length);
  const bad = await door.call('GET', '/v1/tasks?pageToken=AAAA', { as: 'carol' });
  expect(bad.status).toBe(400);

  for (const id of ids) {
    const res = await door.call('POST', `/v1/tasks/${id}/cancel`, {
      as: 'bob',
      body: { reason: 'cleaning up' },
    });
    expect(res.status).toBe(202);
  }
  await eventually(async () => {
    const res = await door.call('GET', `/v1/tasks/${ids[0]}`, { as: 'carol' });
    return res.body.stopReason === 'cancelled' ? true : undefined;
  }, 'cancelled');
  const stopped = await eventually(async () => {
    const res = await door.call('GET', `/v1/tasks?status=stopped&principal=bob&pageSize=200`, {
      as: 'carol',
    });
    const found = res.body.tasks.filter((t: { taskId: string }) => ids.includes(t.taskId));
    return found.length === 3 ? found : undefined;
  }, 'stopped tasks listed');
  expect(stopped.every((t: { status: string }) => t.status === 'stopped')).toBe(true);
  // the cancel was audited with the caller's identity
  const audit = await door.call('GET', `/v1/tasks/${ids[0]}/audit`, { as: 'carol' });
  expect(
    audit.body.entries.find((e: { kind: string }) => e.kind === 'task.cancel_requested').data,
  ).toMatchObject({
    identity: 'bob',
  });
});

test('an admin may start a task on behalf of someone else', async () => {
  const res = await door.call('POST', '/v1/tasks', {
    as: 'root',
    body: {
      agent: 'api-file-writer',
      principal: 'zed',
      input: { path: 'api/zed.txt', content: 'z', result: 'z' },
    },
  });
  expect(res.status).toBe(201);
  expect(res.body.principal).toBe('zed');
  await door.call('POST', `/v1/tasks/${res.body.taskId}/cancel`, { as: 'root', body: {} });
});

test('/openapi.json describes every route from the same schemas', async () => {
  const res = await door.call('GET', '/openapi.json', { as: 'carol' });
  expect(res.status).toBe(200);
  const doc = res.body;
  expect(doc.openapi).toBe('3.1.0');
  for (const op of OPERATIONS) expect(doc.paths[op.path][op.method]).toBeDefined();
  const decision =
    doc.paths['/v1/tasks/{taskId}/decision'].post.requestBody.content['application/json'].schema;
  expect(decision.required).toEqual(expect.arrayContaining(['decision', 'approvalId', 'digest']));
  expect(decision.properties.decision.enum).toEqual(['approve', 'reject']);
  expect(decision.properties.identity).toBeUndefined();
  expect(decision.additionalProperties).toBe(false);
  const list = doc.paths['/v1/tasks'].get.parameters.map((p: { name: string }) => p.name);
  expect(list).toEqual(['status', 'agent', 'principal', 'pageSize', 'pageToken']);
});

test('a flood from one address is limited with 429 and Retry-After', async () => {
  const small = await startFrontDoorFixture({
    harness: door.harness,
    api: { rateLimit: { max: 5, windowSeconds: 60 } },
  });
  try {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof small.call>> | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await small.call('GET', '/v1/me', { as: i % 2 ? 'carol' : null });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 5).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    expect(limited!.body.error.code).toBe('rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    // the review lane's pages are limited too
    const page = await fetch(`${small.url}/ui/login`);
    expect(page.status).toBe(429);
  } finally {
    await small.stop();
  }
});

describe('OIDC: JWTs verified against the issuer’s keys', () => {
  let jwks: Server;
  let issuer: string;
  let key: { privateKey: KeyLike; jwk: JWK };
  let oidcDoor: FrontDoorFixture;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    key = {
      privateKey: pair.privateKey,
      jwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' },
    };
    jwks = createServer((req, res) => {
      if (req.url === '/keys') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [key.jwk] }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(jwks.address() as { port: number }).port}`;
    oidcDoor = await startFrontDoorFixture({
      harness: door.harness,
      api: {
        oidc: {
          issuer,
          audience: 'steward',
          jwksUrl: `${issuer}/keys`,
          identityClaim: 'email',
          rolesClaim: 'groups',
        },
      },
    });
  });
  afterAll(async () => {
    await oidcDoor?.stop();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  const jwt = (
    claims: Record<string, unknown>,
    options: { key?: KeyLike; aud?: string; iss?: string; exp?: string } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? 'steward')
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .sign(options.key ?? key.privateKey);

  test('a valid JWT is the caller its claims name, with its roles', async () => {
    const token = await jwt({ email: 'dana@example.com', groups: ['approver', 'reviewer'] });
    const res = await oidcDoor.call('GET', '/v1/me', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    // the issuer's identities live in its own namespace: oidc:<issuer host>/<claim>
    const dana = `oidc:${new URL(issuer).host}/dana@example.com`;
    expect(res.body).toEqual({ identity: dana, roles: ['approver', 'reviewer'], via: 'oidc' });
    // its roles decide what it may do
    const start = await oidcDoor.call('POST', '/v1/tasks', {
      authorization: `Bearer ${token}`,
      body: { agent: 'api-file-writer' },
    });
    expect(start.status).toBe(403);
    // configured tokens still work beside OIDC
    expect((await oidcDoor.call('GET', '/v1/me', { as: 'carol' })).body.identity).toBe('carol');
  });

  test('a JWT naming a local identity (root, alice) is not that identity: it cannot decide for them', async () => {
    const host = new URL(issuer).host;
    const root = await jwt({ email: 'root', groups: ['admin'] });
    const me = await oidcDoor.call('GET', '/v1/me', { authorization: `Bearer ${root}` });
    expect(me.body).toEqual({ identity: `oidc:${host}/root`, roles: ['admin'], via: 'oidc' });
    // alice is the policy's approver; a JWT whose claim says alice is someone else
    const started = await startWrite('api/oidc-alice.txt', 'not by a JWT');
    const pending = await pendingFor(started.taskId);
    const fake = await jwt({ email: 'alice', groups: ['approver'] });
    const inbox = await oidcDoor.call('GET', '/v1/approvals?pageSize=200', {
      authorization: `Bearer ${fake}`,
    });
    expect(inbox.body.approvals.map((a: { taskId: string }) => a.taskId)).not.toContain(started.taskId);
    const decided = await oidcDoor.call('POST', `/v1/tasks/${started.taskId}/decision`, {
      authorization: `Bearer ${fake}`,
      body: { decision: 'approve', approvalId: pending.id, digest: pending.digest },
    });
    expect(decided.status).toBe(403);
    expect(decided.body.error.message).toMatch(new RegExp(`oidc:${host}/alice may not approve`));
    await door.call('POST', `/v1/tasks/${started.taskId}/cancel`, { as: 'bob', body: {} });
  });

  test('a JWT signed by another key, for another audience or issuer, or expired, is refused', async () => {
    const other = await generateKeyPair('RS256');
    const bad = [
      [await jwt({ email: 'eve@example.com', groups: ['admin'] }, { key: other.privateKey }), /signature/],
      [await jwt({ email: 'eve@example.com', groups: ['admin'] }, { aud: 'someone-else' }), /aud/],
      [await jwt({ email: 'eve@example.com', groups: ['admin'] }, { iss: 'http://127.0.0.1:1' }), /iss/],
      [await jwt({ email: 'eve@example.com', groups: ['admin'] }, { exp: '-10m' }), /expired/],
      [await jwt({ groups: ['admin'] }), /email claim/],
    ] as const;
    for (const [token, message] of bad) {
      const res = await oidcDoor.call('GET', '/v1/me', { authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(message);
    }
  });
});
