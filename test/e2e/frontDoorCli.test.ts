/**
 * The front door through the real CLI: `steward dev` brings the API and the review lane up with the
 * rest and prints their address (and, with no identities configured, a one-time token for the local
 * user); `steward tokens create` prints a token once and the config line for it; `steward serve`
 * serves exactly the identities of that line.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../src/runtime/devServer';
import { CliProcess, runCli, stopAllCli, type CliEnv } from '../support/cliProcess';
import { eventually, uniqueName } from '../support/harness';

jest.setTimeout(120_000);

const root = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'front-door-cli-'));
afterAll(() => stopAllCli());

function install(
  name: string,
  extra: Record<string, unknown> = {},
  env: Record<string, string> = {},
): CliEnv {
  const dir = join(root, name);
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const config = join(dir, 'steward.yaml');
  writeFileSync(
    config,
    stringify({
      temporal: { taskQueue: uniqueName(`fd-${name}`) },
      providers: { none: { kind: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1' } },
      models: [{ id: 'none', provider: 'none', model: 'none', trust: 'public' }],
      computeNodes: [{ id: 'local', taskQueue: uniqueName(`fd-${name}-node`), trust: 'local' }],
      tools: { workspace },
      dataDir: join(dir, 'data'),
      ...extra,
    }),
  );
  return { config, dataDir: join(dir, 'data'), cwd: dir, extra: env };
}

async function get(url: string, token?: string) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // HTML
  }
  return { status: res.status, body: body as Record<string, unknown> & string };
}

test('steward dev brings up the API and the review lane and prints their address', async () => {
  // its own Temporal server: TEMPORAL_ADDRESS (the suite's) would make dev look there instead
  const env = install(
    'dev',
    {
      agents: [
        {
          name: 'fd-writer',
          description: 'writes out.txt after an approval',
          instructions: 'Write the file.',
          tools: ['write_file'],
          inputSchema: {
            type: 'object',
            properties: { content: { type: 'string' } },
            required: ['content'],
            additionalProperties: false,
          },
          plan: [
            {
              id: 'write',
              kind: 'tool',
              tool: 'write_file',
              input: { path: 'out.txt', content: '{{input.content}}' },
            },
            { id: 'done', kind: 'finish', result: 'wrote out.txt' },
          ],
        },
      ],
    },
    { TEMPORAL_ADDRESS: '' },
  );
  const [port, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const dev = new CliProcess(
    ['dev', '--port', String(port), '--ui-port', String(uiPort), '--api-port', String(apiPort)],
    env,
  );
  const [, api] = await dev.waitFor(/^Steward API: +(http:\/\/127\.0\.0\.1:\d+)\/v1 /m, {
    timeoutMs: 90_000,
  });
  const [, lane] = await dev.waitFor(/^Review lane: +(http:\/\/127\.0\.0\.1:\d+\/ui\/)$/m);
  expect(api).toBe(`http://127.0.0.1:${apiPort}`);
  expect(lane).toBe(`${api}/ui/`);
  // no identities configured: a one-time token for the user running it, printed once
  const [, user, token] = await dev.waitFor(
    /sign in as (\S+) with (stw_\S+) \(valid until steward dev stops\)/,
  );
  expect(user).toBe('alice');

  expect((await get(`${api}/v1/me`)).status).toBe(401);
  expect((await get(`${api}/v1/me`, token)).body).toEqual({
    identity: 'alice',
    roles: ['admin'],
    via: 'dev',
  });
  const tasks = await get(`${api}/v1/tasks`, token);
  expect(tasks.status).toBe(200);
  expect(tasks.body.tasks).toEqual([]);
  const login = await get(lane!);
  expect(login.status).toBe(200);
  expect(login.body).toContain('<form method="post" action="/ui/login"');

  // a decision through dev's front door is signed with the install's key, which its worker trusts
  const post = (path: string, body: unknown) =>
    fetch(`${api}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> })); // eslint-disable-line @typescript-eslint/no-explicit-any
  const started = await post('/v1/tasks', { agent: 'fd-writer', input: { content: 'via the front door' } });
  expect(started.status).toBe(201);
  const taskId = started.body.taskId as string;
  expect(started.body.temporalUiUrl).toBe(
    `http://127.0.0.1:${uiPort}/namespaces/default/workflows/${taskId}`,
  );
  const pending = await eventually(async () => {
    const state = await get(`${api}/v1/tasks/${taskId}`, token);
    return (state.body as Record<string, any>).pendingApproval; // eslint-disable-line @typescript-eslint/no-explicit-any
  }, 'the approval');
  const decided = await post(`/v1/tasks/${taskId}/decision`, {
    decision: 'approve',
    approvalId: pending.id,
    digest: pending.digest,
  });
  expect(decided.body).toEqual({ approvalId: pending.id, outcome: 'approved', identity: 'alice' });
  await eventually(async () => {
    const state = await get(`${api}/v1/tasks/${taskId}`, token);
    return state.body.status === 'completed' ? true : undefined;
  }, 'completed');
  expect(readFileSync(join(root, 'dev', 'workspace', 'out.txt'), 'utf8')).toBe('via the front door');

  const result = await dev.stop();
  expect(result.code).toBe(0);
});

test('steward tokens create prints a token once and its config line; steward serve accepts exactly it', async () => {
  const created = await runCli(
    ['tokens', 'create', 'dana', '--role', 'approver,reviewer'],
    install('tokens'),
  );
  expect(created.code).toBe(0);
  const token = /^ {2}(stw_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
  expect(token).toBeDefined();
  const line = /^ {2}(- \{ identity: "dana", roles: \[approver, reviewer\], sha256: [0-9a-f]{64} \})$/m.exec(
    created.stdout,
  )?.[1];
  expect(line).toBeDefined();
  expect(created.stdout).not.toMatch(new RegExp(`sha256: .*${token}`));

  // serve refuses to start when nobody could sign in
  const nobody = await runCli(['serve', '--port', '0'], install('serve-nobody'));
  expect(nobody.code).toBe(1);
  expect(nobody.stderr).toMatch(/nobody could sign in/);

  const env = install('serve');
  writeFileSync(env.config, `${readFileSync(env.config, 'utf8')}api:\n  tokens:\n  ${line}\n`);
  const serve = new CliProcess(['serve', '--port', '0'], env);
  const [, api] = await serve.waitFor(/^Steward API: +(http:\/\/127\.0\.0\.1:\d+)\/v1 /m, {
    timeoutMs: 60_000,
  });
  await serve.waitFor(/^Review lane: +http:\/\/127\.0\.0\.1:\d+\/ui\/$/m);
  expect((await get(`${api}/v1/me`, token)).body).toEqual({
    identity: 'dana',
    roles: ['approver', 'reviewer'],
    via: 'token',
  });
  expect((await get(`${api}/v1/me`, `${token}x`)).status).toBe(401);
  expect((await serve.stop()).code).toBe(0);
});

test('steward tokens refuses an identity or role that could not be configured', async () => {
  const env = install('tokens-bad');
  const quote = await runCli(['tokens', 'create', "o'brien"], env);
  expect(quote.code).toBe(1);
  expect(quote.stderr).toMatch(/identity: expected printable text without quotes/);
  const role = await runCli(['tokens', 'create', 'dana', '--role', 'a b'], env);
  expect(role.code).toBe(1);
  expect(role.stderr).toMatch(/roles\.0: a role is letters/);
  const action = await runCli(['tokens', 'delete', 'dana'], env);
  expect(action.code).toBe(1);
});
