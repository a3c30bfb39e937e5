/**
 * Small hand-written shape checks for the messages a workflow takes (messages.ts). Workflow code is
 * instantiated again in every workflow and at every replay: zod's 18 modules cost each parked task
 * ~700 KB of heap and its set-up CPU (bench/README.md), so the workflow bundle does without it.
 * The problems read as zod's did (`field: Too big: expected string to have <=200 characters`), so
 * refusals recorded in audits before this change read the same as those after it.
 */

/** Checks one value; throws a MessageProblem naming where and what is wrong. */
export type Check<T> = (value: unknown, at: string) => T;

/** Not an Error: no stack is captured for a refused message (a workflow's promise hook is costly enough). */
export class MessageProblem {
  constructor(
    readonly at: string,
    readonly message: string,
  ) {}
}

function fail(at: string, message: string): never {
  throw new MessageProblem(at, message);
}

function received(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

const join = (at: string, key: string): string => (at ? `${at}.${key}` : key);

export interface TextRules {
  min?: number;
  /** The message when shorter than `min` (default: zod's). */
  minMessage?: string;
  max?: number;
  /** Trimmed before the length and pattern checks (the trimmed text is the value). */
  trim?: boolean;
  pattern?: { re: RegExp; message: string };
}

export function text(rules: TextRules = {}): Check<string> {
  return (value, at) => {
    if (typeof value !== 'string') fail(at, `Invalid input: expected string, received ${received(value)}`);
    const s = rules.trim ? value.trim() : value;
    if (rules.min !== undefined && s.length < rules.min)
      fail(at, rules.minMessage ?? `Too small: expected string to have >=${rules.min} characters`);
    if (rules.max !== undefined && s.length > rules.max)
      fail(at, `Too big: expected string to have <=${rules.max} characters`);
    if (rules.pattern && !rules.pattern.re.test(s)) fail(at, rules.pattern.message);
    return s;
  };
}

/** A finite number within [min, max]. */
export function finiteNumber(min: number, max: number): Check<number> {
  return (value, at) => {
    if (typeof value !== 'number' || !Number.isFinite(value))
      fail(at, `Invalid input: expected number, received ${received(value)}`);
    if (value < min) fail(at, `Too small: expected number to be >=${min}`);
    if (value > max) fail(at, `Too big: expected number to be <=${max}`);
    return value;
  };
}

export function oneOf<T extends string>(...options: T[]): Check<T> {
  return (value, at) => {
    if (!options.includes(value as T))
      fail(at, `Invalid option: expected one of ${options.map((o) => JSON.stringify(o)).join('|')}`);
    return value as T;
  };
}

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, at) => (value === undefined ? undefined : check(value, at));
}

export function nullish<T>(check: Check<T>): Check<T | null | undefined> {
  return (value, at) => (value === undefined || value === null ? value : check(value, at));
}

function plainObject(value: unknown, at: string, kind: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(at, `Invalid input: expected ${kind}, received ${received(value)}`);
  return value as Record<string, unknown>;
}

/**
 * An object with these fields, checked in order (the first problem is the one reported); fields not
 * named are dropped, as zod's objects drop them.
 */
export function object<T extends object>(shape: { [K in keyof T]-?: Check<T[K]> }): Check<T> {
  const keys = Object.keys(shape) as Array<keyof T & string>;
  return (value, at) => {
    const input = plainObject(value, at, 'object');
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const has = Object.prototype.hasOwnProperty.call(input, key);
      const checked = shape[key](has ? input[key] : undefined, join(at, key));
      if (has || checked !== undefined) out[key] = checked;
    }
    return out as T;
  };
}

/** A record whose keys pass `key`; its values are kept as they are (never recursed into). */
export function record(key: Check<string>): Check<Record<string, unknown>> {
  return (value, at) => {
    const input = plainObject(value, at, 'record');
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(input)) {
      try {
        key(k, at);
      } catch (err) {
        if (err instanceof MessageProblem) fail(at, 'Invalid key in record');
        throw err;
      }
      out[k] = input[k];
    }
    return out;
  };
}
