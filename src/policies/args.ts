import { isBlobRef } from '../shared/types';
import type { ArgCondition } from './types';

/**
 * Conditions on an action's arguments. Each answers yes, no, or unknown: unknown when the value
 * cannot be judged here (it is in the blob store, it is a list or an object, or it is not of the kind
 * the condition reads). A deny or approve rule matches on unknown, an allow rule does not, so what
 * cannot be judged is never let through more easily. Pure and deterministic: the workflow runs it.
 */
export type Match = 'yes' | 'no' | 'unknown';

const has = (value: object, key: string): boolean => Object.prototype.hasOwnProperty.call(value, key);

/** The value at a dotted path of the input; `unknown` when a blob reference or a list is in the way. */
export function argumentAt(input: unknown, path: string): { value: unknown } | 'missing' | 'unknown' {
  let value: unknown = input;
  for (const key of path.split('.')) {
    if (value === null || value === undefined) return 'missing';
    if (typeof value !== 'object') return 'missing';
    if (isBlobRef(value) || Array.isArray(value)) return 'unknown';
    if (!has(value, key)) return 'missing';
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined) return 'missing';
  if (typeof value === 'object' && value !== null) return 'unknown';
  return { value };
}

/**
 * A relative or absolute path with `.` and `..` resolved, so `notes/../secrets/x` is judged as
 * `secrets/x`. A `..` that climbs above a relative path's start is kept (`../x`).
 */
export function normalizePath(path: string): string {
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!absolute) parts.push('..');
      continue;
    }
    parts.push(segment);
  }
  const joined = parts.join('/');
  return absolute ? `/${joined}` : joined || '.';
}

const escape = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * A glob as a RegExp: `**` is any run of characters (across `/`), `**` then a slash is zero or more
 * directories, `*` any run within one name, `?` one character.
 */
export function globRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += escape(c);
  }
  return new RegExp(`^${source}$`, 's');
}

export function globMatches(pattern: string, path: string): boolean {
  const normalizedPattern = pattern.startsWith('/') ? pattern : pattern.replace(/^\.\//, '');
  return globRegExp(normalizedPattern).test(normalizePath(path));
}

/** `api.example.com` matches that host only; `*.example.com` any host below example.com, at any depth. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
  return h === p;
}

/** The host of a URL as the `http_post` tool's own parser reads it, or undefined if it is not a URL. */
export function urlHost(value: string): string | undefined {
  try {
    const host = new URL(value).hostname;
    return host || undefined;
  } catch {
    return undefined;
  }
}

/** A number, or a string that is exactly a decimal number; anything else is not comparable. */
function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function compare(op: '>' | '>=' | '<' | '<=' | '==' | '!=', a: number, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

export function conditionMatches(condition: ArgCondition, input: unknown): Match {
  const found = argumentAt(input, condition.arg);
  if (found === 'missing') return 'no';
  if (found === 'unknown') return 'unknown';
  const { value } = found;
  if ('equals' in condition) return value === condition.equals ? 'yes' : 'no';
  if ('compare' in condition) {
    const n = numeric(value);
    if (n === undefined) return 'unknown';
    return compare(condition.compare, n, condition.value) ? 'yes' : 'no';
  }
  if (typeof value !== 'string') return 'unknown';
  if ('glob' in condition) return globMatches(condition.glob, value) ? 'yes' : 'no';
  const host = urlHost(value);
  if (host === undefined) return 'unknown';
  return hostMatches(condition.host, host) ? 'yes' : 'no';
}

/** All conditions together: no if any is no, else unknown if any is unknown, else yes. */
export function allMatch(conditions: ArgCondition[], input: unknown): Match {
  let result: Match = 'yes';
  for (const condition of conditions) {
    const m = conditionMatches(condition, input);
    if (m === 'no') return 'no';
    if (m === 'unknown') result = 'unknown';
  }
  return result;
}

/** Readable form of a condition, for `policy check` and refusals: `amount > 100`, `path ~ notes/**`. */
export function describeCondition(condition: ArgCondition): string {
  if ('equals' in condition) return `${condition.arg} is ${JSON.stringify(condition.equals)}`;
  if ('compare' in condition) return `${condition.arg} ${condition.compare} ${condition.value}`;
  if ('glob' in condition) return `${condition.arg} matches ${condition.glob}`;
  return `${condition.arg} has host ${condition.host}`;
}
