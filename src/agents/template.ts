import { isBlobRef, type BlobRef, type ContentParts } from '../shared/types';

/**
 * Plan templates: `{{input.title}}`, `{{steps.read.output.text}}`. Pure, so the workflow can render
 * plan steps deterministically from values already in its history.
 */
const PLACEHOLDER = /\{\{\s*([\w.-]+)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([\w.-]+)\s*\}\}$/;

export class TemplateError extends Error {}

export function lookup(scope: Record<string, unknown>, path: string): unknown {
  let value: unknown = scope;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) {
      throw new TemplateError(`template refers to ${path}, which is not there (no "${key}")`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Renders a value for a tool's input. A string that is exactly one placeholder becomes the value
 * itself (an object, a number, or a blob reference that the tool activity resolves).
 */
export function renderValue(template: unknown, scope: Record<string, unknown>): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole) return lookup(scope, whole[1]!);
    return template.replace(PLACEHOLDER, (_m, path: string) => {
      const value = lookup(scope, path);
      if (isBlobRef(value)) throw new TemplateError(`${path} is in the blob store; use it as a whole value`);
      return asText(value);
    });
  }
  if (Array.isArray(template)) return template.map((t) => renderValue(t, scope));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderValue(v, scope)]));
  }
  return template;
}

/** Renders a prompt into parts, leaving blob references for the model activity to resolve. */
export function renderPrompt(template: string, scope: Record<string, unknown>): ContentParts {
  const parts: ContentParts = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index! > last) parts.push(template.slice(last, match.index));
    const value = lookup(scope, match[1]!);
    parts.push(isBlobRef(value) ? (value as BlobRef) : asText(value));
    last = match.index! + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return parts;
}

/** Every placeholder path in a template (a string, or strings nested in arrays and objects). */
export function placeholders(template: unknown): string[] {
  if (typeof template === 'string') return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  if (Array.isArray(template)) return template.flatMap(placeholders);
  if (template && typeof template === 'object') return Object.values(template).flatMap(placeholders);
  return [];
}
