/**
 * Secret values (API keys read from the environment) known to this process, so every error text and
 * log line can be scrubbed of them wherever they hide. Any layer may import it.
 *
 * A secret is found in every form a server or a library is known to echo it in (test/unit/secrets.test.ts):
 * - as written, in any letter case (an error that upper-cases the request);
 * - JSON-escaped (once or twice: a JSON body quoted in a JSON error), URL-encoded, hex;
 * - base64 and base64url at each of the three alignments, so the key inside a longer encoded blob
 *   (`Basic base64(user:key)`, a base64 request dump) is caught too;
 * - split: its characters in order with up to 6 separators between any two (whitespace, quotes,
 *   commas, `+`, JSON escapes such as `\n`), a separator never being a character of the key itself;
 * - in pieces: any run of 8 or more consecutive characters of a token-like key (16 or more of
 *   letters and digits, both, and `-_.~+=`: an API key, a JWT), for a truncated echo or a key cut in
 *   two. Shorter keys, and other secret values such as a database URL or a path (whose pieces,
 *   `postgres` or `localhost`, are ordinary words), are matched whole only.
 */
export const REDACTED = '[redacted]';

/** Shorter values are not real secrets, and replacing them would garble every line. */
const MIN_SECRET_LENGTH = 4;
/** Keys at least this long are also found with separators between their characters. */
const MIN_SPLIT_LENGTH = 8;
/** Keys at least this long are also found by any run of FRAGMENT_LENGTH of their characters. */
const MIN_FRAGMENT_KEY_LENGTH = 16;
const FRAGMENT_LENGTH = 8;
/** An API key or a JWT: no spaces, slashes or colons, and both letters and digits (unlike a path or a word). */
const tokenLike = (secret: string): boolean =>
  /^[A-Za-z0-9._~+=-]+$/.test(secret) && /[A-Za-z]/.test(secret) && /[0-9]/.test(secret);
/** How many separators may stand between two characters of a split key. */
const MAX_SEPARATORS = 6;

const secrets = new Set<string>();

/**
 * Registers a secret VALUE (an API key read from the environment): from now on it is replaced by
 * `[redacted]` in every line the process logger writes, wherever it hides (a message, an error's
 * text, a nested field).
 */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** `text` with every registered secret and every value of `extra`, in each of their forms, replaced by `[redacted]`. */
export function redactSecrets(text: string, extra: Iterable<string | undefined> = []): string {
  let out = text;
  for (const secret of new Set([...secrets, ...extra])) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    out = matcherOf(secret).scrub(out);
  }
  return out;
}

/** True when `text` carries a registered secret or a value of `extra` in any form. */
export function containsSecret(text: string, extra: Iterable<string | undefined> = []): boolean {
  return redactSecrets(text, extra) !== text;
}

interface Matcher {
  scrub(text: string): string;
}

/** Matchers are built once per secret: the logger scrubs every line it writes. */
const matchers = new Map<string, Matcher>();

function matcherOf(secret: string): Matcher {
  let matcher = matchers.get(secret);
  if (!matcher) {
    matcher = buildMatcher(secret);
    if (matchers.size > 256) matchers.clear(); // `extra` values come and go; registered ones are few
    matchers.set(secret, matcher);
  }
  return matcher;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function buildMatcher(secret: string): Matcher {
  const bytes = new TextEncoder().encode(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  // text forms, matched in any letter case (hex and %XX are caseless anyway)
  const caseless = new Set([
    secret,
    json,
    JSON.stringify(json).slice(1, -1),
    encodeURIComponent(secret),
    [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(''),
  ]);
  // base64 forms are case-sensitive: only the characters fixed by the key's own bytes are matched
  const encoded = new Set<string>();
  for (let offset = 0; offset < 3; offset++) {
    const padded = [...new Uint8Array(offset), ...bytes];
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor((padded.length * 8) / 6);
    // no Buffer: shared/ stays importable by workflow code
    const b64 = btoa(String.fromCharCode(...padded)).slice(start, end);
    if (b64.length < MIN_SECRET_LENGTH) continue;
    encoded.add(b64);
    encoded.add(b64.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  const longestFirst = (forms: Iterable<string>) =>
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegex)
      .join('|');
  // a key at the end of a blob leaves a last character (a few of its bits) and padding: both go too
  const exact = [
    new RegExp(longestFirst(caseless), 'gi'),
    new RegExp(`(?:${longestFirst(encoded)})(?:[A-Za-z0-9+/_-]={1,2})?`, 'g'),
  ];
  const split = secret.length >= MIN_SPLIT_LENGTH ? splitPattern(secret) : undefined;
  const fragments =
    secret.length >= MIN_FRAGMENT_KEY_LENGTH && tokenLike(secret) ? fragmentPattern(secret) : undefined;
  return {
    scrub(text: string): string {
      let out = text;
      if (split) out = out.replace(split, REDACTED);
      for (const re of exact) out = out.replace(re, REDACTED);
      if (fragments) out = scrubRuns(out, fragments);
      return out;
    },
  };
}

/**
 * The key's characters in order, any letter case, with separators between them. A separator that
 * could begin with a character of the key is left out, so matching never backtracks far.
 */
function splitPattern(secret: string): RegExp {
  const inKey = new Set(secret.toLowerCase());
  const separators = [
    ['\\s', ' \t\n\r'],
    ['"', '"'],
    ["'", "'"],
    ['`', '`'],
    [',', ','],
    ['\\+', '+'],
    ['\\\\[nrt"\\\\]', '\\'],
    ['\\\\u00[0-9a-fA-F]{2}', '\\'],
  ]
    .filter(([, first]) => ![...first!].some((c) => inKey.has(c)))
    .map(([re]) => re!);
  const sep = separators.length ? `(?:${separators.join('|')}){0,${MAX_SEPARATORS}}` : '';
  return new RegExp([...secret].map(escapeRegex).join(sep), 'gi');
}

/** Every run of FRAGMENT_LENGTH consecutive characters of the key, any letter case. */
function fragmentPattern(secret: string): RegExp {
  const grams = new Set<string>();
  const lower = secret.toLowerCase();
  for (let i = 0; i + FRAGMENT_LENGTH <= lower.length; i++) grams.add(lower.slice(i, i + FRAGMENT_LENGTH));
  return new RegExp([...grams].map(escapeRegex).join('|'), 'gi');
}

/** Replaces each maximal stretch covered by (overlapping) fragment matches with one `[redacted]`. */
function scrubRuns(text: string, fragments: RegExp): string {
  const spans: Array<[number, number]> = [];
  fragments.lastIndex = 0;
  for (let m = fragments.exec(text); m; m = fragments.exec(text)) {
    const end = m.index + m[0].length;
    const last = spans.at(-1);
    if (last && m.index <= last[1]) last[1] = Math.max(last[1], end);
    else spans.push([m.index, end]);
    fragments.lastIndex = m.index + 1; // overlapping: a run longer than one fragment is one stretch
  }
  if (!spans.length) return text;
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    out += text.slice(at, start) + REDACTED;
    at = end;
  }
  return out + text.slice(at);
}
