import { REDACTED, containsSecret, redactSecrets } from '../../src/shared/secrets';
import { keyForms } from '../support/keyForms';

/** The forms a provider or a library was seen to echo a key in, each one scrubbed. */

const KEY = 'sk-proj-Zq9xW2vLk7Tb4Hc1Np8Rm3Ys6Ud0Ge5F';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');

test.each(Object.entries(keyForms(KEY)))('the key %s is scrubbed', (_form, text) => {
  const line = `upstream said: <${text}> end`;
  const out = redactSecrets(line, [KEY]);
  expect(out).toContain(REDACTED);
  expect(out.startsWith('upstream said: <')).toBe(true);
  expect(out.endsWith('> end')).toBe(true);
  for (const form of Object.values(keyForms(KEY))) expect(out).not.toContain(form);
});

test('base64 of a longer text holding the key is scrubbed at each of the three alignments', () => {
  for (const prefix of ['', 'a', 'ab', 'abc', 'Bearer ', 'user:']) {
    for (const encode of [b64, b64url]) {
      const blob = encode(`${prefix}${KEY} and more after it`);
      const out = redactSecrets(`dump ${blob}`, [KEY]);
      expect({ prefix, out: out.includes(REDACTED) }).toEqual({ prefix, out: true });
      // what is left decodes to no part of the key
      const left = out.replace('dump ', '').split(REDACTED).join('');
      expect(Buffer.from(left, 'base64').toString('latin1')).not.toContain(KEY.slice(8, 16));
    }
  }
});

test('a key split by whitespace, quotes, commas, plus signs or JSON escapes is scrubbed', () => {
  const chunks = KEY.match(/.{1,4}/g)!;
  for (const sep of [' ', '\n', '\r\n', '" "', "' + '", ', ', '\\n', '\\"', '\t\t', '\\u0020']) {
    const text = `key=${chunks.join(sep)};`;
    expect({ sep, out: redactSecrets(text, [KEY]) }).toEqual({ sep, out: `key=${REDACTED};` });
  }
});

test('any 8 consecutive characters of a long key are scrubbed, in any case; 7 are not', () => {
  expect(redactSecrets(`first ${KEY.slice(0, 8)} last`, [KEY])).toBe(`first ${REDACTED} last`);
  expect(redactSecrets(`mid ${KEY.slice(13, 21).toUpperCase()}!`, [KEY])).toBe(`mid ${REDACTED}!`);
  // two halves far apart, each scrubbed, and one stretch per half
  const halves = `${KEY.slice(0, 20)} ---------- ${KEY.slice(20)}`;
  expect(redactSecrets(halves, [KEY])).toBe(`${REDACTED} ---------- ${REDACTED}`);
  expect(redactSecrets(`x${KEY.slice(10, 17)}x`, [KEY])).toBe(`x${KEY.slice(10, 17)}x`);
});

test('ordinary text is left alone, and a short key is matched whole only', () => {
  const prose = 'The quick brown fox: sk-proj keys, base64 and %2F are words too. 0123456789';
  expect(redactSecrets(prose, [KEY])).toBe(prose);
  const short = 'abc123XYZ'; // 9 characters: whole and split, but not by pieces
  expect(redactSecrets('abc123 and XYZ', [short])).toBe('abc123 and XYZ');
  expect(redactSecrets('is ABC123xyz here', [short])).toBe(`is ${REDACTED} here`);
  expect(redactSecrets('abc', ['abc'])).toBe('abc'); // under four characters is no secret
  expect(containsSecret(prose, [KEY])).toBe(false);
  expect(containsSecret(`${prose} ${b64(KEY)}`, [KEY])).toBe(true);
});

test('a database URL is scrubbed whole, and its ordinary pieces are left in other text', () => {
  const url = 'postgres://steward:s3cret-pass@localhost:5432/steward';
  expect(redactSecrets(`connecting to ${url} failed`, [url])).toBe(`connecting to ${REDACTED} failed`);
  expect(redactSecrets('postgres on localhost:5432 is up', [url])).toBe('postgres on localhost:5432 is up');
  // a path or a word-like value given to an MCP server as a secret: whole only, too
  expect(redactSecrets('see /home/steward/notes/a.md', ['/home/steward/notes'])).toBe(`see ${REDACTED}/a.md`);
  expect(redactSecrets('the workspace-settings file', ['workspace-settings-prod'])).toBe(
    'the workspace-settings file',
  );
});

test('a key with characters that mean something in a pattern or in JSON', () => {
  const odd = 'k3y.with+"quote"\\slash(paren)*';
  const text = `${odd} ${JSON.stringify(odd)} ${encodeURIComponent(odd)} ${JSON.stringify(JSON.stringify(odd))}`;
  const out = redactSecrets(text, [odd]);
  expect(out).not.toContain('quote');
  expect(out).not.toContain(encodeURIComponent(odd));
});
