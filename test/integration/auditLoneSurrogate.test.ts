/**
 * The reproduction, on a real run: a task started for a principal whose name holds a lone
 * surrogate. Its stored trail is valid I-JSON (the surrogate is U+FFFD), so Python's `rfc8785` and
 * npm's `canonicalize` re-compute every entry's hash from the stored lines, and Steward verifies it.
 */
import { createHash } from 'node:crypto';
import { GENESIS } from '../../src/audit/chain';
import { verifyTrail } from '../../src/audit/verify';
import { auditedWriter } from '../support/auditedTask';
import { Harness } from '../support/harness';
import { outside } from '../support/jcsLibraries';

jest.setTimeout(120_000);

const harness = new Harness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());

test('a principal with a lone surrogate: the trail is valid I-JSON and every RFC 8785 library agrees', async () => {
  harness.mock.reply({ tool: 'finish', args: { result: 'done' } });
  const spec = harness.spec(auditedWriter, { principal: 'mallory\ud800', input: 'just finish' });
  const result = await (await harness.launch(spec)).result();
  expect(result.status).toBe('completed');

  const { entries, heads } = await harness.auditStore.read(spec.taskId);
  expect(entries.length).toBeGreaterThan(1);
  const principals = entries.map((e) => e.actor?.principal).filter((p) => p !== undefined);
  expect(principals.length).toBeGreaterThan(0);
  expect(new Set(principals)).toEqual(new Set(['mallory\ufffd']));

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
