import { createHash } from 'node:crypto';
import { appendAudit, GENESIS, hashEntry, type AuditEntry, type AuditEvent } from '../../src/audit/chain';
import { canonicalJson } from '../../src/audit/canonicalJson';
import { outside } from '../support/jcsLibraries';

/**
 * docs/audit.md says any RFC 8785 library re-computes an entry's hash. Checked here with two that
 * Steward does not use, run as their own processes on the trail's JSON lines: Python's `rfc8785`
 * (pinned in .ci/run) and npm's `canonicalize` 4.0.0 (a devDependency; 5.x declares Node >= 22).
 * Both refuse a lone surrogate, so a principal carrying one is made well-formed (U+FFFD) before it
 * enters the trail.
 */

const LONE = 'mallory\ud800'; // a high surrogate with nothing after it
const events: AuditEvent[] = [
  {
    kind: 'task.started',
    at: '2026-01-01T00:00:00.000Z',
    step: 0,
    actor: { agent: 'writer', principal: LONE },
    data: {
      input: 'caf\u00e9 \u{1f600} \u0000\u001f\u007f "q" \\ \u2028',
      [`key\udc00`]: [1, -0, 1e21, 2.5e-7, 0.1],
    },
  },
  {
    kind: 'policy.decided',
    at: '2026-01-01T00:00:01.000Z',
    step: 1,
    decision: { effect: 'allow', ruleIds: ['r\udfff', 'ok \ud83d\ude00'] },
    data: { z: null, a: true, é: 'last', '\u0080': 'first' },
  },
  { kind: 'task.completed', at: '2026-01-01T00:00:02.000Z', step: 1, data: { reason: 'completed' } },
];

/** The trail's lines as an export writes them: each entry without its hash, as JSON. */
function trail(): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let head = GENESIS;
  for (const event of events) {
    const entry = appendAudit(head, 'task-jcs', event);
    entries.push(entry);
    head = entry;
  }
  return entries;
}
const unhashed = (entries: AuditEntry[]) => entries.map(({ hash: _hash, ...rest }) => JSON.stringify(rest));

test.each(['python rfc8785', 'npm canonicalize'] as const)(
  '%s canonicalizes every entry exactly as Steward does, and re-computes its hash',
  (library) => {
    const entries = trail();
    const theirs = outside(library, unhashed(entries));
    expect(theirs).toHaveLength(entries.length);
    entries.forEach((entry, i) => {
      const { hash: _hash, ...rest } = entry;
      expect(theirs[i]).toBe(canonicalJson(rest));
      expect(createHash('sha256').update(theirs[i]!, 'utf8').digest('hex')).toBe(entry.hash);
    });
  },
);

test('the lone surrogates became U+FFFD; well-formed pairs are kept', () => {
  const [started, decided] = trail();
  expect(started!.actor!.principal).toBe('mallory\ufffd');
  expect(Object.keys(started!.data)).toContain('key\ufffd');
  expect(decided!.decision!.ruleIds).toEqual(['r\ufffd', 'ok \ud83d\ude00']);
  expect(JSON.stringify(trail())).not.toMatch(/\\ud[89a-f]/);
});

test.each(['python rfc8785', 'npm canonicalize'] as const)(
  '%s refuses an entry hashed with a lone surrogate left in (as trails were before)',
  (library) => {
    // built without the front door, as appendAudit did before: Steward's own encoder escapes it
    const raw = { v: 1 as const, taskId: 't', seq: 1, ...events[0]!, prevHash: GENESIS.hash };
    const entry = { ...raw, hash: hashEntry(raw) } as AuditEntry;
    expect(canonicalJson(raw)).toContain('\\ud800');
    expect(outside(library, unhashed([entry]))[0]).toMatch(/^ERR /);
  },
);
