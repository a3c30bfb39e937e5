/// <reference lib="dom" />
/**
 * The Temporal UI, checked in headless Chromium: a dev server of this file's own, started WITH its UI
 * (the suite's runs headless), a worker on it, a task run to an approval; the UI shows the task's
 * summary, its Steward search attributes and its activities' summaries. The screenshots are kept in
 * test-artifacts/.
 */
import type { Browser, Page } from 'playwright-core';
import type { AgentDefinition } from '../../src/agents/definition';
import { startDevServer, type DevServer } from '../../src/runtime/devServer';
import { ensureTemporalCli } from '../../src/runtime/temporalCli';
import { keepScreenshot, launchBrowser } from '../support/browser';
import { eventually, Harness } from '../support/harness';

jest.setTimeout(120_000);

/** Reads a file (one activity), then asks to write it (an approval). */
const copier: AgentDefinition = {
  name: 'ui-copier',
  description: 'copies a file after an approval',
  instructions: 'Copy the file.',
  tools: ['read_file', 'write_file'],
  plan: [
    { id: 'read', kind: 'tool', tool: 'read_file', input: { path: 'in.txt' } },
    {
      id: 'write',
      kind: 'tool',
      tool: 'write_file',
      input: { path: 'out.txt', content: '{{steps.read.output.text}}' },
    },
    { id: 'done', kind: 'finish', result: 'copied' },
  ],
};

let server: DevServer;
let harness: Harness;
let browser: Browser;

beforeAll(async () => {
  server = await startDevServer({ cliPath: await ensureTemporalCli(), headless: false });
  // the harness connects to TEMPORAL_ADDRESS when it starts: point it at this server for that moment only
  const suite = process.env.TEMPORAL_ADDRESS;
  process.env.TEMPORAL_ADDRESS = server.address;
  try {
    harness = await new Harness().start();
  } finally {
    process.env.TEMPORAL_ADDRESS = suite;
  }
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await harness?.stop();
  await server?.stop();
});

/** The text of the page and of its frames (the UI renders user metadata as markdown in iframes). */
async function allText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((f) => f.evaluate(() => document.body?.innerText ?? '').catch(() => '')),
  );
  return texts.join('\n');
}

test('the Temporal UI shows the task’s summary, its Steward search attributes and its activity summaries', async () => {
  harness.writeWorkspaceFile('in.txt', 'hello from the UI test');
  const spec = harness.spec(copier);
  await harness.launch(spec);
  await eventually(async () => (await harness.client.state(spec.taskId)).pendingApproval, 'the approval');
  expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${server.uiUrl}/namespaces/default/workflows/${spec.taskId}`);
  // the history: every activity is scheduled with its summary
  await page.getByText('tool: read_file, step 1').first().waitFor({ timeout: 30_000 });
  await expect(page.getByText('agentRun', { exact: true }).first().isVisible()).resolves.toBe(true);
  await keepScreenshot(page, 'temporal-ui-history');

  // user metadata: the static summary, the current details, the events with their summaries
  await page.getByText('User Metadata', { exact: true }).click();
  const metadata = await eventually(async () => {
    const text = await allText(page);
    // the summary and the current details arrive separately: wait for both
    return text.includes(`${copier.name} for bob`) && /awaiting_approval/.test(text) ? text : undefined;
  }, 'the summary in the UI');
  expect(metadata).toContain('tool: read_file, step 1');
  expect(metadata).toMatch(/approval deadline of approval-\d+ \(write_file\)/);
  expect(metadata).toMatch(/awaiting_approval/);
  await keepScreenshot(page, 'temporal-ui-user-metadata');

  // the Steward search attributes, as the workflow last set them
  await page.getByText('Search Attributes', { exact: true }).click();
  const attributes = await eventually(async () => {
    const text = await allText(page);
    return text.includes('StewardStatus') ? text : undefined;
  }, 'the search attributes in the UI');
  expect(attributes).toMatch(/"StewardStatus": "awaiting_approval"/);
  expect(attributes).toMatch(/"StewardAgent": "ui-copier"/);
  expect(attributes).toMatch(/"StewardPrincipal": "bob"/);
  // one step ran (read_file); the approval gates step 2, the step the task is on while it waits
  expect(attributes).toMatch(/"StewardStep": 2/);
  expect(attributes).toMatch(/"StewardSpendUsd": 0/);
  await keepScreenshot(page, 'temporal-ui-search-attributes');

  // and the list of workflows filters on them
  await page.goto(
    `${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`StewardStatus = 'awaiting_approval'`)}`,
  );
  await page.getByText(spec.taskId).first().waitFor({ timeout: 30_000 });
  await keepScreenshot(page, 'temporal-ui-list');
  await page.close();
  await harness.client.cancel(spec.taskId, 'alice', 'done');
});
