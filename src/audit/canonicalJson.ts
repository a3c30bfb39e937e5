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
 */
export function canonicalJson(value: unknown, limits: { maxDepth?: number; maxChars?: number } = {}): string {
  const maxDepth = limits.maxDepth ?? CANONICAL_MAX_DEPTH;
  const maxChars = limits.maxChars ?? CANONICAL_MAX_CHARS;
  let chars = 0;
  const counted = (text: string): string => {
    chars += text.length;
    if (chars > maxChars) throw new CanonicalJsonError(`canonicalJson: value is over ${maxChars} characters`);
    return text;
  };
  const encode = (v: unknown, depth: number): string => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return counted(JSON.stringify(v));
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`canonicalJson: non-finite number ${v}`);
      return counted(JSON.stringify(v));
    }
    if (typeof v !== 'object') throw new CanonicalJsonError(`canonicalJson: cannot encode ${typeof v}`);
    if (depth >= maxDepth)
      throw new CanonicalJsonError(`canonicalJson: value is nested deeper than ${maxDepth} levels`);
    if (Array.isArray(v))
      return `[${v.map((x) => (x === undefined ? counted('null') : encode(x, depth + 1))).join(',')}]`;
    const record = v as Record<string, unknown>;
    const entries = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${counted(JSON.stringify(k))}:${encode(record[k], depth + 1)}`);
    return `{${entries.join(',')}}`;
  };
  return encode(value, 0);
}
