/** Deeper values are refused: a recursive encoder must never be a stack overflow (a poison message). */
export const CANONICAL_MAX_DEPTH = 64;
/** Larger encodings are refused: nothing this big belongs in workflow state or the audit. */
export const CANONICAL_MAX_CHARS = 8 * 1024 * 1024;

export class CanonicalJsonError extends TypeError {}

/**
 * Canonical JSON per RFC 8785, the JSON Canonicalization Scheme (JCS), so equal values hash equally
 * whatever order they were built in: no whitespace; strings and numbers serialized as ECMAScript's
 * JSON.stringify does (numbers as Number.prototype.toString, -0 as 0); object keys sorted by UTF-16
 * code units (the default JS sort); NaN and ±Infinity refused, not silently nulled. Hash the result's
 * UTF-8 bytes, as the RFC asks. test/unit/canonicalJsonRfc8785.test.ts checks the RFC's own examples.
 *
 * Beyond the RFC: `undefined` members are dropped and `undefined` array items become null, as in
 * JSON.stringify; values nested deeper than `maxDepth` or encoding to more than `maxChars` characters
 * are refused. A lone surrogate in a string is written as a `\udxxx` escape, as JSON.stringify does,
 * where RFC 8785 (I-JSON) would refuse it; changing that would change the hashes of existing audits.
 * New entries hold none: `appendAudit` replaces each with U+FFFD before hashing (`wellFormed`).
 *
 * `maxChars` counts the characters of the strings, numbers, literals and keys written (not the
 * brackets, commas and colons between them). The encoder is written for speed (verifying a trail
 * re-encodes every entry): one pass appending to a string, strings that need no escape quoted
 * directly, small key lists insertion-sorted; test/unit/canonicalJsonFast.test.ts holds it to the
 * straightforward encoder on random values.
 */
export function canonicalJson(value: unknown, limits: { maxDepth?: number; maxChars?: number } = {}): string {
  return new Encoder(limits.maxDepth ?? CANONICAL_MAX_DEPTH, limits.maxChars ?? CANONICAL_MAX_CHARS).value(
    value,
    0,
  );
}

/** A string JSON.stringify would write as is between quotes: no control, quote, backslash or surrogate. */
// eslint-disable-next-line no-control-regex -- the controls are what it looks for
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** Sorts in place by UTF-16 code units, as Array.prototype.sort() does; insertion sort for short lists. */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

class Encoder {
  private chars = 0;

  constructor(
    private readonly maxDepth: number,
    private readonly maxChars: number,
  ) {}

  private counted(text: string): string {
    this.chars += text.length;
    if (this.chars > this.maxChars)
      throw new CanonicalJsonError(`canonicalJson: value is over ${this.maxChars} characters`);
    return text;
  }

  value(v: unknown, depth: number): string {
    switch (typeof v) {
      case 'string':
        return this.counted(quote(v));
      case 'number':
        if (!Number.isFinite(v)) throw new CanonicalJsonError(`canonicalJson: non-finite number ${v}`);
        return this.counted(String(v));
      case 'boolean':
        return this.counted(v ? 'true' : 'false');
      case 'object':
        break;
      default:
        throw new CanonicalJsonError(`canonicalJson: cannot encode ${typeof v}`);
    }
    if (v === null) return this.counted('null');
    if (depth >= this.maxDepth)
      throw new CanonicalJsonError(`canonicalJson: value is nested deeper than ${this.maxDepth} levels`);
    if (Array.isArray(v)) {
      let out = '[';
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (i > 0) out += ',';
        // a hole in a sparse array (never in parsed JSON) is written as nothing, as it always was
        if (item === undefined) out += i in v ? this.counted('null') : '';
        else out += this.value(item, depth + 1);
      }
      return `${out}]`;
    }
    const record = v as Record<string, unknown>;
    const keys = Object.keys(record);
    let defined = 0;
    for (let i = 0; i < keys.length; i++) if (record[keys[i]!] !== undefined) keys[defined++] = keys[i]!;
    keys.length = defined;
    sortKeys(keys);
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (i > 0) out += ',';
      out += `${this.counted(quote(key))}:`;
      out += this.value(record[key], depth + 1);
    }
    return `${out}}`;
  }
}
