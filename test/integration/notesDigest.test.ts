import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { notesDigest } from '../../src/agents/notesDigest';
import { verifyAudit } from '../../src/audit/chain';
import { EmbeddedModelProvider } from '../../src/providers/embedded';
import { ensureModel } from '../../src/weights';
import { eventually, Harness } from '../support/harness';
import { recordHistory } from '../support/replayRecorder';

/**
 * The example agent end to end on the real embedded model (SmolLM2-135M, offline, no key): the plan
 * reads the notes, counts words on the compute node, has the model draft a digest, and writes it
 * after an approval.
 */
const DATA_DIR = process.env.STEWARD_DATA_DIR ?? resolve(__dirname, '../../.steward');
let harness: Harness;
let provider: EmbeddedModelProvider;

beforeAll(async () => {
  provider = new EmbeddedModelProvider({ modelPath: await ensureModel({ dataDir: DATA_DIR }) });
  harness = await new Harness({
    providers: { embedded: provider },
    config: {
      models: [
        {
          id: 'embedded',
          provider: 'embedded',
          model: 'SmolLM2-135M-Instruct',
          trust: 'local',
          price: { inputPerMTok: 0, outputPerMTok: 0 }, // free, and says so: an unpriced route is never used
        },
      ],
    },
  }).start();
}, 60_000);
afterAll(async () => {
  await harness?.stop();
  await provider?.close();
});

test('notes-digest runs on the embedded model: draft, one approval, digest written, every step in history', async () => {
  const notes = readFileSync(resolve(__dirname, '../../workspace/notes/meeting.md'), 'utf8');
  harness.writeWorkspaceFile('meeting.md', notes);
  const spec = harness.spec(notesDigest, { input: { file: 'meeting.md', out: 'digest.md' } });
  const handle = await harness.launch(spec);

  const pending = await eventually(
    async () => (await harness.client.state(spec.taskId)).pendingApproval,
    'the approval request',
    90_000,
  );
  const draft = (pending.action.input as { content: string }).content;
  expect(pending.action).toMatchObject({ tool: 'write_file', input: { path: 'digest.md' } });
  expect(draft.trim().length).toBeGreaterThan(20); // the model wrote something
  await harness.client.decide(spec.taskId, { identity: 'alice', decision: 'approve', reason: 'reads fine' });

  const result = await handle.result();
  expect(result).toMatchObject({ status: 'completed', steps: 4, spendUsd: 0 });
  expect(result.result).toMatch(/^Wrote digest\.md: a digest of \d+ words of notes \(\d+ bytes\)\.$/);
  expect(readFileSync(join(harness.workspace, 'digest.md'), 'utf8')).toBe(draft);

  const audit = await harness.client.audit(spec.taskId);
  expect(verifyAudit(audit).ok).toBe(true);
  const modelCall = audit.find((e) => e.kind === 'model.called')!;
  expect(modelCall.data).toMatchObject({ provider: 'embedded', costUsd: 0 });
  const usage = modelCall.data.usage as { inputTokens: number; outputTokens: number };
  expect(usage.inputTokens).toBeGreaterThan(100); // the notes were in the prompt
  expect(usage.outputTokens).toBeGreaterThan(0);
  expect(usage.outputTokens).toBeLessThanOrEqual(notesDigest.limits!.maxOutputTokens!);
  expect(audit.find((e) => e.kind === 'approval.decided')!.data).toMatchObject({
    identity: 'alice',
    decision: 'approve',
  });

  const summaries = (await handle.fetchHistory())
    .events!.filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data!).toString()));
  expect(summaries).toEqual([
    'tool: read_file, step 1',
    'compute: text_stats on node local, step 2',
    'model: SmolLM2-135M-Instruct via embedded, step 3',
    'tool: write_file, step 4',
  ]);
  await recordHistory('notes-digest-embedded', handle);
}, 120_000);
