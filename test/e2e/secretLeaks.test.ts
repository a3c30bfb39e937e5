/**
 * A provider key never lands anywhere: `steward dev` (its own Temporal dev server persisting to
 * `<dataDir>/temporal.db`, a worker, the API) runs tasks against a real local OpenAI-compatible server
 * that echoes the key back, in every form seen in the wild, in its errors (a retryable 503, then a 400)
 * and in its answers (a text completion, a tool call's arguments). Afterwards every store, export, API
 * answer, log line and the dev server's database is searched for the key as written, in any case,
 * JSON-escaped, URL-encoded, hex, base64 and base64url (each alignment), and by a piece of it: none
 * may hold it, while each holds the marker that proves the echo itself did reach it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../src/runtime/devServer';
import { CliProcess, runCli, stopAllCli, type CliEnv } from '../support/cliProcess';
import { eventually, uniqueName } from '../support/harness';
import { keyForms, leaksOf } from '../support/keyForms';
import { MockOpenAI } from '../support/mockOpenAI';

jest.setTimeout(240_000);

const KEY_ENV = 'STEWARD_LEAK_TEST_KEY';
// mixed case (an upper- or lower-cased echo differs from it), letters and digits (a token-like key)
const KEY = `sk-proj-${randomBytes(24).toString('base64').replace(/[+/=]/g, '')}7Q`;
const echoed = (marker: string) =>
  `${marker}: ${Object.entries(keyForms(KEY))
    .map(([form, text]) => `${form} <${text}>`)
    .join(' | ')}`;

const root = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'secret-leaks-'));
const mock = new MockOpenAI();
afterAll(async () => {
  await stopAllCli();
  await mock.stop();
});

function install(): CliEnv {
  const workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const config = join(root, 'steward.yaml');
  writeFileSync(
    config,
    stringify({
      temporal: { taskQueue: uniqueName('leaks') },
      providers: { keyed: { kind: 'openai-compatible', baseURL: mock.url, apiKeyEnv: KEY_ENV } },
      models: [
        {
          id: 'keyed',
          provider: 'keyed',
          model: 'keyed-model',
          trust: 'public',
          price: { inputPerMTok: 1, outputPerMTok: 2 },
        },
      ],
      computeNodes: [{ id: 'local', taskQueue: uniqueName('leaks-node'), trust: 'local' }],
      tools: { workspace },
      dataDir: join(root, 'data'),
    }),
  );
  // its own Temporal server (TEMPORAL_ADDRESS would point at the suite's), logging at info
  return {
    config,
    dataDir: join(root, 'data'),
    cwd: root,
    extra: { TEMPORAL_ADDRESS: '', [KEY_ENV]: KEY, STEWARD_LOG_LEVEL: 'info' },
  };
}

/** Every file under `dir`, by its path relative to `root`. */
function filesUnder(dir: string, out: Record<string, Buffer> = {}): Record<string, Buffer> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) filesUnder(path, out);
    else out[path.slice(root.length + 1)] = readFileSync(path);
  }
  return out;
}

test('a key echoed back by the provider in every form is in no store, export, answer, log or database', async () => {
  await mock.start();
  const env = install();
  const [port, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const dev = new CliProcess(
    ['dev', '--port', String(port), '--ui-port', String(uiPort), '--api-port', String(apiPort)],
    env,
  );
  const [, api] = await dev.waitFor(/^Steward API: +(http:\/\/127\.0\.0\.1:\d+)\/v1 /m, {
    timeoutMs: 120_000,
  });
  const [, , token] = await dev.waitFor(/sign in as (\S+) with (stw_\S+) \(valid until steward dev stops\)/);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  /** Starts file-assistant through the API and waits for it to end; its final state as the API gives it. */
  async function runTask(input: string): Promise<{ taskId: string; state: Record<string, unknown> }> {
    const started = await call('POST', '/v1/tasks', { agent: 'file-assistant', input });
    expect(started.status).toBe(201);
    const { taskId } = JSON.parse(started.text) as { taskId: string };
    const state = await eventually(
      async () => {
        const res = await call('GET', `/v1/tasks/${taskId}`);
        const body = JSON.parse(res.text) as Record<string, unknown>;
        return body.status === 'completed' || body.status === 'stopped' ? body : undefined;
      },
      `${taskId} ended`,
      90_000,
    );
    return { taskId, state };
  }

  // 1. errors: a retryable 503 (retried, so the attempt's failure sits in the server's state), then a 400
  mock.reply(
    {
      status: 503,
      headers: { 'retry-after-ms': '100' },
      body: JSON.stringify({ error: { message: echoed('ECHO-503') } }),
    },
    { status: 400, body: JSON.stringify({ error: { message: echoed('ECHO-400') } }) },
  );
  const failed = await runTask('fail, echoing the key');
  expect(failed.state.status).toBe('stopped');
  // 2. a completion whose text is the key in every form: it becomes the task's result, so large
  // (over the 64 KiB threshold) that it is kept in the blob store
  mock.reply({ text: `${echoed('TEXT-ANSWER')} ${'lorem ipsum '.repeat(6_000)} ${echoed('TEXT-END')}` });
  const texted = await runTask('answer with the key');
  expect(texted.state.status).toBe('completed');
  // 3. a tool call whose arguments carry it
  mock.reply({ tool: 'finish', args: { result: echoed('ARGS-ANSWER') } });
  const called = await runTask('finish with the key');
  expect(called.state.status).toBe('completed');
  // the key was really sent, with every request
  expect(mock.requests.length).toBeGreaterThanOrEqual(4);
  for (const request of mock.requests) expect(request.headers.authorization).toBe(`Bearer ${KEY}`);

  const texts: Record<string, string | Buffer> = {};
  const markers: Record<string, string[]> = {
    [failed.taskId]: ['ECHO-400'],
    [texted.taskId]: [], // its result is a blob: searched below
    [called.taskId]: ['ARGS-ANSWER'],
  };
  for (const { taskId } of [failed, texted, called]) {
    for (const path of [
      `/v1/tasks/${taskId}`,
      `/v1/tasks/${taskId}/audit`,
      `/v1/tasks/${taskId}/audit/verify`,
    ]) {
      const res = await call('GET', path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      texts[`API ${path}`] = res.text;
    }
    const status = await runCli(['status', taskId, '--json'], env);
    expect(status.code).toBe(0);
    texts[`status --json ${taskId}`] = status.stdout + status.stderr;
    // the echo reached the task's state: the scrub is what keeps the key out of it
    for (const marker of markers[taskId]!) expect(status.stdout).toContain(marker);
    if (markers[taskId]!.length) expect(status.stdout).toContain('[redacted]');
    for (const format of [[], ['--cloudevents']]) {
      const out = join(root, `${taskId}${format.join('')}.jsonl`);
      const exported = await runCli(['audit', 'export', taskId, '--out', out, ...format], env);
      expect(exported.code).toBe(0);
      texts[`export ${taskId} ${format.join('')}`] = readFileSync(out, 'utf8');
    }
    const shown = await runCli(['audit', 'show', taskId], env);
    texts[`audit show ${taskId}`] = shown.stdout + shown.stderr;
  }
  expect(String(texts[`export ${failed.taskId} `])).toContain('ECHO-400');
  // the answers that held the key say so in the trail: which of their fields were scrubbed
  const modelCalled = (taskId: string) =>
    String(texts[`export ${taskId} `])
      .split('\n')
      .filter((line) => line.includes('"kind":"model.called"'))
      .map((line) => JSON.parse(line) as { data: { redacted?: string[] } });
  expect(modelCalled(texted.taskId).some((e) => e.data.redacted?.includes('text'))).toBe(true);
  expect(modelCalled(called.taskId).some((e) => e.data.redacted?.length)).toBe(true);

  expect((await dev.stop()).code).toBe(0);
  texts['steward dev: stdout'] = dev.stdout;
  texts['steward dev: stderr (the log)'] = dev.stderr;
  expect(dev.stderr).toMatch(/"level":/); // the log was written, and is searched
  const files = filesUnder(join(root, 'data'));
  const names = Object.keys(files);
  expect(names).toContain('data/temporal.db');
  expect(names.some((n) => n.startsWith('data/audit/'))).toBe(true);
  const blobs = Object.entries(files).filter(([name]) => name.startsWith('data/blobs/'));
  expect({
    names,
    blobWithAnswer: blobs.some(([, b]) => b.includes('TEXT-ANSWER') && b.includes('TEXT-END')),
  }).toEqual({
    names,
    blobWithAnswer: true,
  });
  Object.assign(texts, files);
  // the dev server's database holds the failures and the answers: the echoes reached it, scrubbed
  const db = Object.entries(files)
    .filter(([name]) => name.startsWith('data/temporal.db'))
    .map(([, bytes]) => bytes.toString('latin1'))
    .join('');
  for (const marker of ['ECHO-503', 'ECHO-400', 'ARGS-ANSWER'])
    expect({ marker, inDb: db.includes(marker) }).toEqual({ marker, inDb: true });

  expect(leaksOf(KEY, texts)).toEqual([]);
});
