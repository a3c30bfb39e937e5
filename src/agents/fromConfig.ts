import { z } from 'zod';
import type { PlanStep, TaskLimits } from '../shared/types';
import type { AgentDefinition } from './definition';
import { placeholders } from './template';

/** An agent as configuration declares it (src/config/agentSchema.ts), once parsed. */
export interface ConfigAgentEntry {
  name: string;
  description: string;
  instructions: string;
  tools: string[];
  plan?: PlanStep[];
  /** JSON Schema of the input. */
  inputSchema?: Record<string, unknown>;
  defaultInput?: unknown;
  limits?: Partial<TaskLimits>;
  minimumModel?: { parametersB: number; why: string };
}

/** A configured agent and the file that declared it. */
export interface ConfigAgent extends ConfigAgentEntry {
  /** The file it was declared in (steward.yaml, or a file of `agentFiles`). */
  from: string;
}

/** One thing wrong with a configured agent, at a path inside its entry. */
export interface AgentProblem {
  path: (string | number)[];
  message: string;
}

/** What a step's results expose to later templates: `{{steps.<id>.output…}}` or `{{steps.<id>.text}}`. */
const EXPOSES: Record<PlanStep['kind'], string | undefined> = {
  tool: 'output',
  decide: 'output',
  draft: 'text',
  finish: undefined,
};

/** Every string in a template value, with its path (`input.path`, `input.items[2]`). */
function strings(value: unknown, path: (string | number)[]): { path: (string | number)[]; text: string }[] {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, [...path, k]));
  return [];
}

/** The top-level properties of an object input schema that allows no others, else undefined (no check). */
function closedProperties(schema: Record<string, unknown> | undefined): string[] | undefined {
  if (!schema || schema.additionalProperties !== false) return undefined;
  const properties = schema.properties;
  return properties && typeof properties === 'object' ? Object.keys(properties) : undefined;
}

/**
 * Converts a configured agent's input JSON Schema to zod (`z.fromJSONSchema`, zod ≥ 4.2). Throws
 * with zod's reason when zod cannot represent it (an external `$ref`, `if`/`then`, an unknown type…).
 */
export function inputSchemaOf(schema: Record<string, unknown>): z.ZodType {
  return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) as z.ZodType;
}

/**
 * Checks a configured agent the way built-in agents are checked, and more, naming the path of each
 * problem inside the entry: a plan step's tool the agent is not granted, a template that refers to a
 * step that has not run before it (or to what that kind of step does not produce) or to an input
 * field the schema does not have, duplicate step ids, a finish that is not last, an input schema zod
 * cannot represent, a default input that breaks it.
 */
export function checkConfigAgent(entry: ConfigAgentEntry): {
  agent?: AgentDefinition;
  problems: AgentProblem[];
} {
  const problems: AgentProblem[] = [];
  const problem = (path: (string | number)[], message: string) => problems.push({ path, message });

  let input: z.ZodType | undefined;
  if (entry.inputSchema) {
    try {
      input = inputSchemaOf(entry.inputSchema);
    } catch (err) {
      problem(['inputSchema'], `zod cannot represent this JSON Schema: ${(err as Error).message}`);
    }
  }
  if (input && entry.defaultInput !== undefined) {
    const checked = input.safeParse(entry.defaultInput);
    if (!checked.success) {
      for (const issue of checked.error.issues)
        problem(['defaultInput', ...(issue.path as (string | number)[])], issue.message);
    }
  }

  const inputFields = closedProperties(entry.inputSchema);
  const seen = new Map<string, PlanStep['kind']>();
  const plan = entry.plan ?? [];
  plan.forEach((step, i) => {
    const at = (...rest: (string | number)[]) => ['plan', i, ...rest];
    if (seen.has(step.id)) problem(at('id'), `the step id ${step.id} is used twice`);
    if (step.kind === 'tool' && !entry.tools.includes(step.tool))
      problem(
        at('tool'),
        `tool ${step.tool} is not in the agent's tools (${entry.tools.join(', ') || 'none'})`,
      );
    if (step.kind === 'decide') {
      step.tools.forEach((tool, j) => {
        if (!entry.tools.includes(tool)) problem(at('tools', j), `tool ${tool} is not in the agent's tools`);
      });
    }
    if (step.kind === 'finish' && i !== plan.length - 1) problem(at('kind'), 'finish must be the last step');
    const template =
      step.kind === 'tool'
        ? strings(step.input, at('input'))
        : step.kind === 'finish'
          ? strings(step.result, at('result'))
          : strings(step.prompt, at('prompt'));
    for (const { path, text } of template) {
      for (const ref of placeholders(text)) {
        const [root, id, field] = ref.split('.');
        if (root === 'input') {
          if (id && inputFields && !inputFields.includes(id))
            problem(
              path,
              `{{${ref}}}: the input schema has no property ${id} (it has ${inputFields.join(', ')})`,
            );
          continue;
        }
        if (root !== 'steps') {
          problem(path, `{{${ref}}} refers to ${root}, which is not input or steps`);
          continue;
        }
        const kind = id === undefined ? undefined : seen.get(id);
        if (!kind) {
          problem(path, `{{${ref}}} refers to step ${id ?? '(none)'}, which has not run before it`);
          continue;
        }
        if (field !== EXPOSES[kind])
          problem(
            path,
            `{{${ref}}}: a ${kind} step gives {{steps.${id}.${EXPOSES[kind]}}}, not .${field ?? ''}`,
          );
      }
    }
    seen.set(step.id, step.kind);
  });

  if (problems.length > 0) return { problems };
  const agent: AgentDefinition = {
    name: entry.name,
    description: entry.description,
    instructions: entry.instructions,
    tools: [...entry.tools],
    ...(entry.plan ? { plan: entry.plan } : {}),
    ...(input ? { input } : {}),
    ...(entry.defaultInput !== undefined ? { defaultInput: entry.defaultInput } : {}),
    ...(entry.limits ? { limits: entry.limits } : {}),
    ...(entry.minimumModel ? { minimumModel: entry.minimumModel } : {}),
  };
  return { agent, problems };
}

/** The agent definitions of checked configured agents (the config loader has refused bad ones). */
export function configAgentDefinitions(agents: ConfigAgent[]): { agent: AgentDefinition; from: string }[] {
  return agents.map((entry) => {
    const { agent, problems } = checkConfigAgent(entry);
    if (!agent) {
      const first = problems[0]!;
      throw new Error(
        `agent ${entry.name} (${entry.from}) is invalid: ${first.path.join('.')}: ${first.message}`,
      );
    }
    return { agent, from: entry.from };
  });
}
