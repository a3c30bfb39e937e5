/** The front door's pure parts: escaping, the timeline read from an audit trail, token checks, the config section. */
import { createAuthenticator, newToken, oidcIdentityPrefix, sha256Hex } from '../../src/api/auth';
import { escapeHtml, html } from '../../src/api/lane/html';
import { timelineOf } from '../../src/api/timeline';
import { appendAudit, GENESIS_HASH, type AuditEntry } from '../../src/audit/chain';
import { apiSchema } from '../../src/config/apiSchema';

test('html escapes every interpolated value, and nests what it made itself', () => {
  const hostile = `<script>alert("x")</script><img src=x onerror='y'>&\``;
  expect(escapeHtml(hostile)).toBe(
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;&amp;&#96;',
  );
  const inner = html`<b>${hostile}</b>`;
  expect(html`<p title="${hostile}">${inner}${[hostile, 1]}</p>`.value).toBe(
    `<p title="${escapeHtml(hostile)}"><b>${escapeHtml(hostile)}</b>${escapeHtml(hostile)}1</p>`,
  );
});

function trail(
  events: Array<{ kind: string; at: string; step: number; data: Record<string, unknown> }>,
): AuditEntry[] {
  const out: AuditEntry[] = [];
  let head = { seq: 0, hash: GENESIS_HASH };
  for (const e of events) {
    const entry = appendAudit(head, 'task-1', e);
    out.push(entry);
    head = entry;
  }
  return out;
}

test('the timeline has one item per step: where it ran, how long it took, what it cost', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const timeline = timelineOf(
    trail([
      { kind: 'task.started', at: t(0), step: 0, data: {} },
      {
        kind: 'model.called',
        at: t(2),
        step: 1,
        data: { route: 'gpt', provider: 'openai', model: 'm', costUsd: 0.25 },
      },
      {
        kind: 'tool.completed',
        at: t(3),
        step: 2,
        data: { tool: 'text_stats', node: 'gpu-1', costUsd: 0.5 },
      },
      { kind: 'approval.requested', at: t(4), step: 2, data: { id: 'approval-3' } },
      {
        kind: 'approval.decided',
        at: t(10),
        step: 2,
        data: { id: 'approval-3', identity: 'alice', decision: 'approve' },
      },
      { kind: 'tool.completed', at: t(11), step: 3, data: { tool: 'write_file' } },
      { kind: 'step.failed', at: t(12), step: 4, data: { route: 'gpt', error: 'boom' } },
      { kind: 'task.completed', at: t(13), step: 4, data: {} },
    ]),
  );
  expect(timeline.items.map((i) => [i.kind, i.label, i.where, i.durationMs, i.costUsd])).toEqual([
    ['model', 'model: m via openai', 'gpt', 2000, 0.25],
    ['compute', 'compute: text_stats', 'node gpu-1', 1000, 0.5],
    ['approval', 'approved by alice', 'alice', 6000, 0],
    ['tool', 'tool: write_file', 'worker', 1000, 0],
    ['failure', 'failed: boom', 'gpt', 1000, 0],
  ]);
  expect(timeline).toMatchObject({ totalMs: 13_000, costUsd: 0.75, startAt: t(0), endAt: t(13) });
  expect(timelineOf([])).toEqual({ items: [], totalMs: 0, costUsd: 0 });
});

test('tokens are known by their sha256 only; a JWT needs an issuer configured', async () => {
  const { token, sha256 } = newToken();
  expect(token).toMatch(/^stw_[A-Za-z0-9_-]{43}$/);
  expect(sha256).toBe(sha256Hex(token));
  const auth = createAuthenticator({ tokens: [{ identity: 'alice', roles: ['approver'], sha256 }] });
  await expect(auth.authenticate(token)).resolves.toEqual({
    identity: 'alice',
    roles: ['approver'],
    via: 'token',
  });
  await expect(auth.authenticate(sha256)).rejects.toMatchObject({ code: 'unauthorized' });
  await expect(auth.authenticate(undefined)).rejects.toMatchObject({ status: 401 });
  await expect(auth.authenticate('a.b.c')).rejects.toMatchObject({ message: 'the token is not known' });
  expect(createAuthenticator({ tokens: [] }).configured).toBe(false);
});

test('the api section: numbers bounded, URLs checked, tokens stored as sha256', () => {
  expect(apiSchema.parse({})).toMatchObject({
    host: '127.0.0.1',
    port: 8787,
    tokens: [],
    bodyLimitBytes: 1048576,
  });
  const problems = (input: unknown) =>
    apiSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  expect(problems({ port: 70000 })[0]).toMatch(/^port: /);
  expect(problems({ rateLimit: { max: 0 } })[0]).toMatch(/^rateLimit\.max: /);
  expect(problems({ bodyLimitBytes: 1e9 })[0]).toMatch(/^bodyLimitBytes: /);
  expect(problems({ tokens: [{ identity: 'a', sha256: 'secret-token' }] })[0]).toMatch(
    /^tokens\.0\.sha256: expected the sha256/,
  );
  const oidc = {
    issuer: 'http://idp.example.com',
    audience: 'steward',
    jwksUrl: 'https://idp.example.com/keys',
  };
  expect(problems({ oidc })[0]).toMatch(/^oidc\.issuer: expected an https URL/);
  expect(problems({ oidc: { ...oidc, issuer: 'http://127.0.0.1:9000' } })).toEqual([]);
  expect(problems({ oidc: { ...oidc, issuer: 'https://u:p@idp.example.com' } })[0]).toMatch(/credentials/);
  // an issuer's identities are namespaced: a prefix without ':' could equal a local user's name
  const issuer = 'https://idp.example.com/realms/x';
  expect(oidcIdentityPrefix({ issuer })).toBe('oidc:idp.example.com/');
  expect(oidcIdentityPrefix({ issuer, identityPrefix: 'corp:' })).toBe('corp:');
  expect(problems({ oidc: { ...oidc, issuer, identityPrefix: 'corp:' } })).toEqual([]);
  expect(problems({ oidc: { ...oidc, issuer, identityPrefix: 'corp-' } })[0]).toMatch(
    /^oidc\.identityPrefix: expected a prefix with a ':'/,
  );
  expect(problems({ oidc: { ...oidc, issuer, identityPrefix: '' } })[0]).toMatch(/^oidc\.identityPrefix: /);
  const sha = 'a'.repeat(64);
  expect(
    problems({
      tokens: [
        { identity: 'a', sha256: sha },
        { identity: 'b', sha256: sha },
      ],
    })[0],
  ).toMatch(/^tokens\.1\.sha256: this token is listed twice/);
});
