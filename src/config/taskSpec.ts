import { randomUUID } from 'node:crypto';
import type { AgentDefinition } from '../agents/definition';
import type { TaskLimits } from '../agents/types';
import { DEFAULT_DATA_BOUNDARIES } from '../policies/evaluate';
import type { ToolRegistry } from '../tools/registry';
import type { TaskSpec } from '../workflows/types';
import type { StewardConfig } from './schema';
import { describeIssues } from './load';

export class TaskInputError extends Error {}

export interface TaskRequest {
  agent: AgentDefinition;
  input?: unknown;
  principal: string;
  taskId?: string;
  limits?: Partial<TaskLimits>;
}

/** Builds the plain-data spec a task starts with: agent, tools, limits, policy and routes resolved. */
export function buildTaskSpec(config: StewardConfig, tools: ToolRegistry, request: TaskRequest): TaskSpec {
  const { agent } = request;
  let input = request.input ?? agent.defaultInput;
  if (agent.input) {
    const parsed = agent.input.safeParse(input);
    if (!parsed.success)
      throw new TaskInputError(describeIssues(parsed.error, `input for agent ${agent.name}`));
    input = parsed.data;
  }
  const { approvers, ...approval } = config.policy.approval;
  return {
    taskId: request.taskId ?? `${agent.name}-${randomUUID().slice(0, 8)}`,
    agent: {
      name: agent.name,
      description: agent.description,
      instructions: agent.instructions,
      tools: tools.describe(agent.tools),
      plan: agent.plan,
    },
    input,
    principal: request.principal,
    limits: { ...config.limits, ...agent.limits, ...request.limits },
    policy: {
      rules: config.policy.rules,
      approval: { ...approval, approvers: approvers ?? [request.principal] },
      dataBoundaries: config.policy.dataBoundaries ?? DEFAULT_DATA_BOUNDARIES,
    },
    models: config.models,
    computeNodes: config.computeNodes,
    preference: config.preference,
  };
}
