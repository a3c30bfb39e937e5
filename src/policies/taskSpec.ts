import { z } from 'zod';
import type { AgentRegistry } from '../agents';
import type { TaskLimits } from '../shared/types';
import { canonicalJson } from '../audit/canonicalJson';
import { sha256Hex } from '../audit/sha256';
import { hasLoneSurrogate } from '../shared/unicode';
import type { ToolRegistry } from '../tools/registry';
import type { TaskSpec } from '../workflows/contract';
import { policyNarrowingSchema, type PolicyFile } from '../config/policyFile';
import { basePolicy, narrowPolicy } from './taskPolicy';
import { describeIssues } from '../config/errors';
import { limitsNarrowingSchema, limitsSchema, type StewardConfig } from '../config/schema';
import { StewardError } from '../errors';

/** What resolving a request yields; the worker adds the keys it trusts and where its trail goes. */
export type ResolvedSpec = Omit<TaskSpec, 'trustedKeys' | 'auditExport'>;

/** A start request the worker will not run: unknown agent, bad input, or a widening. */
export class TaskRefused extends StewardError {
  override readonly name = 'TaskRefused';
}

/** Kept for callers that validate input before starting a task (the CLI). */
export { TaskRefused as TaskInputError };

const LIMIT_KEYS = Object.keys(limitsSchema.shape) as (keyof TaskLimits)[];

/** The shape of a start request; the caller is not trusted, so everything is bounded. */
export const taskRequestSchema = z
  .object({
    agent: z.string().min(1).max(200),
    input: z.unknown().optional(),
    principal: z
      .string()
      .trim()
      .min(1)
      .max(200)
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'principal must be printable text')
      // a lone surrogate is no character: no RFC 8785 library could hash a trail that names it
      .refine((p) => !hasLoneSurrogate(p), 'principal must be valid Unicode (it holds a lone surrogate)'),
    narrow: z
      .object({
        limits: limitsNarrowingSchema.optional(),
        tools: z.array(z.string().min(1).max(200)).max(1000).optional(),
        policy: policyNarrowingSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The stricter of each limit the operator, the agent and the request set: the lowest wins. */
function stricterLimits(...layers: (Partial<TaskLimits> | undefined)[]): TaskLimits {
  const out: Partial<Record<keyof TaskLimits, number>> = {};
  for (const layer of layers) {
    for (const key of LIMIT_KEYS) {
      const value = layer?.[key];
      if (value !== undefined) out[key] = Math.min(out[key] ?? value, value);
    }
  }
  return out as TaskLimits;
}

/** The config's daily caps in the ledgers' terms. */
function sharedBudgets(budgets: NonNullable<StewardConfig['budgets']>): TaskSpec['budgets'] {
  const cap = (c?: { dailyUsd?: number; dailyTokens?: number }) =>
    c && { usd: c.dailyUsd, tokens: c.dailyTokens };
  return { principal: cap(budgets.principal), agent: cap(budgets.agent) };
}

export function policyHash(policy: TaskSpec['policy']): string {
  return sha256Hex(canonicalJson(policy));
}

/**
 * Resolves a start request into the plain-data spec a task runs under: the worker's own agent,
 * tools, limits, policy and routes. A request can only narrow them; anything else is refused
 * with a reason naming what was wrong. Pure: the policy file (when the config names one) is read by
 * the caller as the task starts, so an edit applies to the next task, never to a running one.
 */
export function resolveTaskSpec(
  config: StewardConfig,
  agents: AgentRegistry,
  tools: ToolRegistry,
  taskId: string,
  raw: unknown,
  policyFile?: PolicyFile,
): ResolvedSpec {
  const parsed = taskRequestSchema.safeParse(raw);
  if (!parsed.success) throw new TaskRefused(describeIssues(parsed.error, 'start request'));
  const request = parsed.data;
  if (!agents.has(request.agent)) {
    const known = agents.list().map((a) => a.name);
    throw new TaskRefused(`unknown agent ${request.agent}; this worker runs: ${known.join(', ')}`);
  }
  const agent = agents.get(request.agent);
  let input = request.input ?? agent.defaultInput;
  if (agent.input) {
    const checked = agent.input.safeParse(input);
    if (!checked.success)
      throw new TaskRefused(describeIssues(checked.error, `input for agent ${agent.name}`));
    input = checked.data;
  }

  const allowed = stricterLimits(config.limits, agent.limits);
  for (const [key, value] of Object.entries(request.narrow?.limits ?? {})) {
    const ceiling = allowed[key as keyof TaskLimits];
    if (value !== undefined && ceiling !== undefined && value > ceiling)
      throw new TaskRefused(
        `narrow.limits.${key} ${value} would widen the task: the most allowed is ${ceiling}`,
      );
  }
  const limits = stricterLimits(allowed, request.narrow?.limits);

  const narrowTools = request.narrow?.tools;
  for (const name of narrowTools ?? []) {
    if (!agent.tools.includes(name))
      throw new TaskRefused(`narrow.tools names ${name}, which agent ${agent.name} may not use`);
  }
  const toolNames = narrowTools ? agent.tools.filter((t) => narrowTools.includes(t)) : agent.tools;

  let described;
  try {
    described = tools.describe(toolNames);
  } catch (err) {
    throw new TaskRefused(`agent ${agent.name} cannot run on this worker: ${(err as Error).message}`);
  }
  let base: ReturnType<typeof basePolicy>;
  try {
    base = basePolicy(config, request.principal, policyFile);
  } catch (err) {
    throw new TaskRefused((err as Error).message);
  }
  const policy = narrowPolicy(base.policy, request.narrow?.policy, {
    agent: agent.name,
    principal: request.principal,
    tools: described,
  });
  if ('refused' in policy) throw new TaskRefused(policy.refused);
  return {
    taskId,
    agent: {
      name: agent.name,
      description: agent.description,
      instructions: agent.instructions,
      tools: described,
      plan: agent.plan,
    },
    input,
    principal: request.principal,
    limits,
    policy,
    policyHash: policyHash(policy),
    ...(base.source ? { policySource: base.source } : {}),
    ...(config.budgets ? { budgets: sharedBudgets(config.budgets) } : {}),
    models: config.models,
    computeNodes: config.computeNodes,
    preference: config.preference,
  };
}
