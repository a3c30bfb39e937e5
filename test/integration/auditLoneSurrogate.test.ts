/**
 * The reproduction, on a real run: a task started for a principal whose name holds a lone
 * surrogate. Its stored trail is valid I-JSON (the surrogate is U+FFFD), so Python's `rfc8785` and
 * npm's `canonicalize` re-compute every entry's hash from the stored lines, and Steward verifies it.
 */
import { createHash } from 'node:crypto';
import { GENESIS } from '../../src/audit/chain';
import { verifyTrail } from '../../src/audit/verify';
import { auditedWriter } from '../support/auditedTask';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { approveUpdate } from '../../src/workflows/messages';
import { eventually, Harness } from '../support/harness';
import { outside } from '../support/jcsLibraries';

jest.setTimeout(120_000);

const harness = new Harness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());

test('a principal with a lone surrogate is refused: it could not be told from the same name with U+FFFD', async () => {
  const spec = harness.spec(auditedWriter, { principal: 'mallory\ud800', input: 'just finish' });
  const result = await (await harness.launch(spec)).result();
  expect(result).toMatchObject({ status: 'stopped', stopReason: 'refused' });
  expect(result.detail).toContain('principal must be valid Unicode (it holds a lone surrogate)');
});

test('a lone surrogate from the model in the trail: it is valid I-JSON and every RFC 8785 library agrees', async () => {
  // the model names a file with a lone surrogate: the failed read's error lands in the trail
  harness.mock.reply(
    { tool: 'read_file', args: { path: 'missing-\ud800.txt' } },
    { tool: 'finish', args: { result: 'done' } },
  );
  const spec = harness.spec(auditedWriter, { input: 'read a file, then finish' });
  const result = await (await harness.launch(spec)).result();
  expect(result.status).toBe('completed');

  const { entries, heads } = await harness.auditStore.read(spec.taskId);
  expect(entries.length).toBeGreaterThan(1);
  expect(JSON.stringify(entries)).toContain('missing-\ufffd.txt');

  const lines = entries.map(({ hash: _hash, ...rest }) => JSON.stringify(rest));
  expect(lines.join('\n')).not.toMatch(/\\ud[89a-f]/i);
  for (const library of ['python rfc8785', 'npm canonicalize'] as const) {
    const hashes = outside(library, lines).map((text) =>
      createHash('sha256').update(text, 'utf8').digest('hex'),
    );
    expect({ library, hashes }).toEqual({ library, hashes: entries.map((e) => e.hash) });
  }
  expect(entries[0]!.prevHash).toBe(GENESIS.hash);
  const verdict = verifyTrail({
    taskId: spec.taskId,
    entries,
    heads,
    trusted: [{ id: harness.auditKey.keyId, publicKey: harness.auditKey.publicKey }],
  });
  expect(verdict).toMatchObject({ ok: true, complete: true });
});

test('a decision whose approval id holds a lone surrogate is refused in words, and the worker keeps running', async () => {
  harness.mock.reply(
    { tool: 'write_file', args: { path: 'lone.txt', content: 'ok' } },
    { tool: 'finish', args: { result: 'written' } },
  );
  const spec = harness.spec(auditedWriter, { input: 'write lone.txt' });
  const handle = await harness.launch(spec);
  const pending = await eventually(
    async () => (await harness.client.state(spec.taskId)).pendingApproval,
    'approval request',
  );
  const refused = await handle
    .executeUpdate(approveUpdate, {
      args: [
        { approvalId: 'approval-\ud800', digest: pending.digest, decision: 'approve', identity: 'alice' },
      ],
    })
    .catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(String((refused as { cause?: Error }).cause?.message)).toContain(
    'unknown approval id approval-\ufffd',
  );
  await harness.client.decide(spec.taskId, { identity: 'alice', decision: 'approve' });
  expect(await handle.result()).toMatchObject({ status: 'completed', result: 'written' });
});
