/// <reference lib="dom" />
/**
 * The review lane in headless Chromium (Debian's chromium, playwright-core): sign in with a token,
 * see a pending approval appear live with its full arguments, approve it with a reason, watch the
 * task finish, see its timeline and audit verdict. Agent output with HTML or script in it is shown as
 * text; forms without the CSRF token and posts from another origin are refused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { keepScreenshot, launchBrowser } from '../support/browser';
import { startFrontDoorFixture, type FrontDoorFixture } from '../support/frontDoor';
import { eventually } from '../support/harness';

jest.setTimeout(120_000);

const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`;

let door: FrontDoorFixture;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  door = await startFrontDoorFixture();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});
afterAll(async () => {
  await browser?.close();
  await door?.stop();
});

async function signIn(p: Page, token: string): Promise<void> {
  await p.goto(`${door.url}/ui/login`);
  await p.fill('textarea[name=token]', token);
  await Promise.all([p.waitForURL(/\/ui\/(tasks)?$/), p.click('button[type=submit]')]);
}

async function start(input: Record<string, unknown>): Promise<string> {
  const res = await door.call('POST', '/v1/tasks', { as: 'bob', body: { agent: 'api-file-writer', input } });
  expect(res.status).toBe(201);
  return res.body.taskId;
}

test('a page asked for without signing in goes to the sign-in page; a wrong token is told so', async () => {
  const fresh = await browser.newPage();
  await fresh.goto(`${door.url}/ui/`);
  expect(new URL(fresh.url()).pathname).toBe('/ui/login');
  await fresh.fill('textarea[name=token]', 'stw_wrong');
  await fresh.click('button[type=submit]');
  await expect(fresh.locator('.error').textContent()).resolves.toMatch(/not known/);
  expect(new URL(fresh.url()).pathname).toBe('/ui/login');
  await fresh.close();
});

test('sign in, see the approval arrive with its full arguments, approve it, watch the task finish with its timeline', async () => {
  await signIn(page, door.tokens.alice);
  expect(new URL(page.url()).pathname).toBe('/ui/');
  await expect(page.locator('.who').textContent()).resolves.toContain('alice');
  // the session cookie is HttpOnly: page scripts never see the token
  expect(await page.evaluate(() => document.cookie)).not.toContain('steward_session');
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === 'steward_session')).toMatchObject({
    httpOnly: true,
    sameSite: 'Strict',
  });

  // started after the page loaded: the inbox shows it by itself
  const content = `# Release notes\n\n${HOSTILE}\n\nline with "quotes" & <angle brackets>\n${'more text\n'.repeat(50)}`;
  const result = `<b>done</b>${HOSTILE}`;
  const taskId = await start({ path: 'lane/notes.md', content, result });
  const card = page.locator(`section.approval[data-task="${taskId}"]`);
  await card.waitFor({ timeout: 30_000 });
  await expect(card.locator('pre[data-arg=content]').textContent()).resolves.toBe(content);
  await expect(card.locator('pre[data-arg=path]').textContent()).resolves.toBe('lane/notes.md');
  const facts = await card.locator('dl.facts').textContent();
  expect(facts).toContain('api-file-writer');
  expect(facts).toMatch(/On behalf of\s*bob/);
  expect(facts).toMatch(/Data class\s*\w+/);
  expect(facts).toMatch(/Spend so far\s*\$0\.000000 of \$1\.000000/);
  expect(facts).toMatch(/Asked by rules/);
  // the deadline counts down
  const first = await card.locator('[data-deadline]').textContent();
  expect(first).toMatch(/^in \d+m \d+s$/);
  await page.waitForFunction(([sel, before]) => document.querySelector(sel)?.textContent !== before, [
    `section.approval[data-task="${taskId}"] [data-deadline]`,
    first,
  ] as const);
  // the hostile argument was shown as text: nothing of it ran or became markup
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.locator('script').count()).toBe(1);
  expect(await card.locator('img').count()).toBe(0);
  await keepScreenshot(page, 'review-lane-inbox');

  await card.locator('textarea[name=reason]').fill('reads fine');
  await Promise.all([
    page.waitForURL(new RegExp(`/ui/tasks/${taskId}\\?decided=approve$`)),
    card.locator('button[value=approve]').click(),
  ]);
  await expect(page.locator('.notice').textContent()).resolves.toMatch(/You approved/);
  // the page follows the task until it ends
  await page.locator('#status', { hasText: 'completed' }).waitFor({ timeout: 30_000 });
  await expect(page.locator('#result').textContent()).resolves.toBe(result);
  expect(await page.locator('#result b').count()).toBe(0);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  const verdict = (await page.locator('#verdict').textContent())!.replace(/\s+/g, ' ').trim();
  expect(verdict).toMatch(
    /^verified: \d+ entries, head [0-9a-f]{16}…, signed at entry \d+ by key harness-audit-[0-9a-f]{16}$/,
  );
  await expect(page.locator('#temporal-link').getAttribute('href')).resolves.toBe(
    `http://127.0.0.1:8233/namespaces/default/workflows/${taskId}`,
  );
  // the timeline: the approval (who, how long it waited) and the tool step, drawn and listed
  expect(await page.locator('svg.timeline rect.approval').count()).toBe(1);
  expect(await page.locator('svg.timeline rect.tool').count()).toBe(1);
  const steps = await page.locator('table.steps tbody').textContent();
  expect(steps).toContain('approved by alice');
  expect(steps).toContain('tool: write_file');
  expect(steps).toMatch(/worker/);
  await keepScreenshot(page, 'review-lane-task');

  expect(readFileSync(join(door.harness.workspace, 'lane', 'notes.md'), 'utf8')).toBe(content);
  const audit = await door.call('GET', `/v1/tasks/${taskId}/audit`, { as: 'carol' });
  expect(audit.body.entries.find((e: { kind: string }) => e.kind === 'approval.decided').data).toMatchObject({
    identity: 'alice',
    reason: 'reads fine',
  });
});

test('a reject from the lane stops the task; the inbox no longer shows it', async () => {
  const taskId = await start({ path: 'lane/rejected.md', content: 'no', result: 'no' });
  await page.goto(`${door.url}/ui/`);
  const card = page.locator(`section.approval[data-task="${taskId}"]`);
  await card.waitFor({ timeout: 30_000 });
  // fill and press in one turn of the page's script: the inbox's live refresh may replace the card
  // between two separate steps (it keeps typed text, but a click on a replaced button is lost)
  await Promise.all([
    page.waitForURL(/decided=reject$/),
    page.evaluate((id) => {
      const section = document.querySelector(`section.approval[data-task="${id}"]`)!;
      section.querySelector<HTMLTextAreaElement>('textarea[name=reason]')!.value = 'wrong file';
      const button = section.querySelector<HTMLButtonElement>('button[value=reject]')!;
      button.form!.requestSubmit(button);
    }, taskId),
  ]);
  await page.locator('#status', { hasText: 'stopped' }).waitFor({ timeout: 30_000 });
  await expect(page.locator('#task-live').textContent()).resolves.toContain('approval_rejected');
  await page.goto(`${door.url}/ui/`);
  expect(await page.locator(`section.approval[data-task="${taskId}"]`).count()).toBe(0);
});

test('forms without the CSRF token, or posted from another origin, are refused; the task keeps waiting', async () => {
  const taskId = await start({ path: 'lane/csrf.md', content: 'x', result: 'x' });
  const pending = await eventually(async () => {
    const res = await door.call('GET', `/v1/tasks/${taskId}`, { as: 'carol' });
    return res.body.pendingApproval;
  }, 'pending');
  await page.goto(`${door.url}/ui/tasks/${taskId}`);
  const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    page.evaluate(
      async ([url, form, extra]) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...extra },
          body: new URLSearchParams(form).toString(),
          redirect: 'manual',
        });
        return res.status;
      },
      [`/ui/tasks/${taskId}/decision`, body, headers] as const,
    );
  const form = { decision: 'approve', approvalId: pending.id, digest: pending.digest };
  expect(await post(form)).toBe(400); // no csrf field: the body is refused, naming it
  expect(await post({ ...form, csrf: 'forged' })).toBe(403);
  const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
  // a request from another origin is refused even with the right token (the browser sets Origin)
  const other = await fetch(`${door.url}/ui/tasks/${taskId}/decision`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'http://evil.example',
      cookie: `steward_session=${door.tokens.alice}`,
    },
    body: new URLSearchParams({ ...form, csrf: csrf! }).toString(),
    redirect: 'manual',
  });
  expect(other.status).toBe(403);
  const state = await door.call('GET', `/v1/tasks/${taskId}`, { as: 'carol' });
  expect(state.body.status).toBe('awaiting_approval');
  await door.call('POST', `/v1/tasks/${taskId}/cancel`, { as: 'bob', body: {} });
});

test('a viewer sees tasks but no decide form; the lane sends a content security policy', async () => {
  const viewer = await browser.newContext();
  const p = await viewer.newPage();
  await signIn(p, door.tokens.carol);
  expect(new URL(p.url()).pathname).toBe('/ui/tasks');
  const taskId = await start({ path: 'lane/viewer.md', content: 'v', result: 'v' });
  await eventually(async () => {
    const res = await door.call('GET', `/v1/tasks/${taskId}`, { as: 'carol' });
    return res.body.pendingApproval;
  }, 'pending');
  const response = await p.goto(`${door.url}/ui/tasks/${taskId}`);
  expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
  await p.locator('section.approval').waitFor();
  expect(await p.locator('section.approval form.decide').count()).toBe(0);
  await expect(p.locator('section.approval').textContent()).resolves.toContain('Waiting for alice');
  await p.goto(`${door.url}/ui/tasks?status=awaiting_approval`);
  await expect(p.locator('table').textContent()).resolves.toContain(taskId);
  await viewer.close();
  await door.call('POST', `/v1/tasks/${taskId}/cancel`, { as: 'bob', body: {} });
});
