import type { z } from 'zod';
import { StewardError } from '../errors';

/**
 * How a bad file or request is reported: one error class and one wording for zod's issues, shared by
 * the config loader, the policy file and task input checks (a module of its own, so each of them
 * can use it without importing the others).
 */
export class ConfigError extends StewardError {}

/** `models[1].price.inputPerMTok: expected number, received string` */
export function describeIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    return `  ${path || '(top level)'}: ${issue.message}`;
  });
  return `${source} is invalid:\n${lines.join('\n')}`;
}
