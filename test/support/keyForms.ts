/**
 * A key in each form a provider was seen to echo it in (for a mock server to send), and the needles a
 * leak check looks for. Written independently of src/shared/secrets.ts, so a test of the scrubber
 * does not check it against itself.
 */
export function keyForms(key: string): Record<string, string> {
  const chunks = key.match(/.{1,5}/g)!;
  return {
    plain: key,
    'upper-cased': key.toUpperCase(),
    'lower-cased': key.toLowerCase(),
    'JSON-escaped twice': JSON.stringify(JSON.stringify(key)).slice(1, -1),
    base64: Buffer.from(key).toString('base64'),
    'base64 of "Bearer <key>"': Buffer.from(`Bearer ${key}`).toString('base64'),
    base64url: Buffer.from(`x${key}`).toString('base64url'),
    'URL-encoded': encodeURIComponent(key),
    hex: Buffer.from(key).toString('hex'),
    'split by spaces': chunks.join(' '),
    'split by newlines': chunks.join('\n'),
    'split into quoted pieces': chunks.map((c) => `"${c}"`).join(' + '),
    'cut short': `${key.slice(0, 20)}…`,
  };
}

/** Needles that betray `key` in a text: each form (base64 at all three alignments), searched case-blind where case carries no meaning. */
export function leakNeedles(key: string): { exact: string[]; caseless: string[] } {
  const exact: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset, 0x41), Buffer.from(key)]);
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor((padded.length * 8) / 6);
    for (const encoding of ['base64', 'base64url'] as const)
      exact.push(padded.toString(encoding).slice(start, end));
  }
  const caseless = [
    key,
    JSON.stringify(key).slice(1, -1),
    encodeURIComponent(key),
    Buffer.from(key).toString('hex'),
    key.slice(4, 16), // a piece of it: a truncated echo
  ].map((n) => n.toLowerCase());
  return { exact, caseless };
}

/** Where in `texts` the key shows, in any of its forms (an empty list when nowhere). */
export function leaksOf(key: string, texts: Record<string, string | Buffer>): string[] {
  const { exact, caseless } = leakNeedles(key);
  const found: string[] = [];
  for (const [where, value] of Object.entries(texts)) {
    // a file's bytes as latin1 keep every ASCII needle findable, UTF-16 aside
    const text = typeof value === 'string' ? value : value.toString('latin1');
    const lower = text.toLowerCase();
    for (const needle of exact) if (text.includes(needle)) found.push(`${where}: ${needle}`);
    for (const needle of caseless) if (lower.includes(needle)) found.push(`${where}: ${needle}`);
  }
  return found;
}
