import { extractBlocks, parseMarker, sampleLinesMissing } from '../support/docBlocks';

const doc = [
  '# Guide',
  '',
  '<!-- docs-test: tty "y\\n", expect "completed in", expect "result: Wrote", exit 0, timeout 300 -->',
  '',
  '```sh',
  'npx steward run notes-digest',
  '```',
  '',
  '- a list item:',
  '',
  '  <!-- docs-test: skip "needs Docker" -->',
  '',
  '  ```sh',
  '  docker compose up -d',
  '  ```',
  '',
  '```sh',
  'echo unmarked',
  '```',
  '',
  '```text',
  'output',
  '```',
].join('\n');

test('blocks carry their language, line, code (unindented) and the marker before them', () => {
  const blocks = extractBlocks('guide.md', doc);
  expect(blocks.map((b) => [b.lang, b.line, b.code])).toEqual([
    ['sh', 5, 'npx steward run notes-digest\n'],
    ['sh', 13, 'docker compose up -d\n'],
    ['sh', 17, 'echo unmarked\n'],
    ['text', 21, 'output\n'],
  ]);
  expect(blocks[0].test).toEqual({
    tty: 'y\n',
    expect: ['completed in', 'result: Wrote'],
    exit: 0,
    timeoutSeconds: 300,
  });
  expect(blocks[1].test?.notRunHere).toBe('needs Docker');
  expect(blocks[2].test).toBeUndefined();
  expect(blocks[3].test).toBeUndefined();
});

test('a marker names what it cannot read, with the file and line', () => {
  expect(() => parseMarker('expect 5', 'a.md:3')).toThrow('a.md:3: docs-test "expect" needs a quoted text');
  expect(() => parseMarker('retry 3', 'a.md:3')).toThrow('a.md:3: unknown docs-test "retry"');
  expect(() => parseMarker('exit "one"', 'a.md:3')).toThrow('a.md:3: docs-test "exit" needs a number');
  expect(() => parseMarker('skip ""', 'a.md:3')).toThrow('a.md:3: docs-test skip needs a reason');
  expect(() => parseMarker('background', 'a.md:3')).toThrow('background needs ready');
  expect(() => parseMarker('expect "a" expect "b"', 'a.md:3')).toThrow('cannot be read at');
});

test('an unclosed block is an error naming where it opens', () => {
  expect(() => extractBlocks('b.md', 'text\n```sh\nls\n')).toThrow('b.md:2: code block is never closed');
});

test('defaults: exit 0, no expectations, two minutes', () => {
  expect(parseMarker(' ', 'a.md:1')).toEqual({ expect: [], exit: 0, timeoutSeconds: 120 });
});

describe('sampleLinesMissing', () => {
  const printed = [
    'Review lane: http://127.0.0.1:43135/ui/ (sign in as newcomer with stw_4M-6TtybzJNwwrnWlY87Sb)',
    'task notes-digest-3d116250 · agent notes-digest for newcomer',
    '  step  4  approved by newcomer                                 $0.000000',
    '        │ The meeting notes are a detailed report',
    'completed in 14.9 s · 4 steps · $0.000000',
    '  audit: 11 entries, head 0950038c5a9c4fb7…',
  ].join('\n');
  const sample = [
    'Review lane: http://127.0.0.1:37193/ui/ (sign in as you with stw_…)',
    'task notes-digest-c37ec7d1 · agent notes-digest for you',
    '  step  4  approved by you                                      $0.000000',
    '        │ a different draft',
    'completed in 5.2 s · 4 steps · $0.000000',
    '  audit: 11 entries, head dbeb434a2b14c068…',
  ].join('\n');

  test('ids, ports, times, hashes, the user and the draft may differ', () => {
    expect(sampleLinesMissing(sample, printed, 'newcomer')).toEqual([]);
  });

  test('a line the run no longer prints is named, and step numbers and counts must match', () => {
    const old = sample.replace('step  4  approved', 'step  3  approved');
    expect(sampleLinesMissing(old, printed, 'newcomer')).toEqual([
      '  step  3  approved by you                                      $0.000000',
    ]);
    expect(sampleLinesMissing('completed in 5.2 s · 3 steps · $0.000000', printed, 'newcomer')).toHaveLength(
      1,
    );
    expect(sampleLinesMissing('stopped: approval_rejected', printed, 'newcomer')).toHaveLength(1);
    expect(
      sampleLinesMissing('task notes-digest-3d116250 · agent notes-digest for alice', printed, 'newcomer'),
    ).toHaveLength(1);
  });
});
