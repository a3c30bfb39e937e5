import { z } from 'zod';
import type { Logger } from 'pino';
import type { DataClass, ToolDescriptor, ToolEffect } from '../shared/types';
import { definitionHashOf } from '../policies/approval';

export interface ToolContext {
  /** `workflowId:step`: pass it on to whatever the tool changes, so a retry does not do it twice. */
  idempotencyKey: string;
  taskId: string;
  step: number;
  /** Aborted when the activity is cancelled. */
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
  logger: Logger;
}

export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  effect: ToolEffect;
  dataClass: DataClass;
  placement?: 'worker' | 'compute';
  /**
   * Declares a short read that may run as a local activity: inside the workflow task that asks for
   * it, without a round trip through the server (a step then costs a fraction of an activity). Only
   * a `read` tool on the worker may, with a timeout of at most MAX_LOCAL_TOOL_SECONDS: a local
   * activity holds its workflow task while it runs and cannot heartbeat. Writes, spends, model
   * calls and compute jobs are always activities.
   */
  local?: { timeoutSeconds: number };
  input: I;
  output: O;
  handler(input: z.infer<I>, context: ToolContext): Promise<z.infer<O>>;
}

/** Identity function that lets TypeScript infer a tool's input and output types from its schemas. */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(
  tool: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return tool;
}

export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const jsonSchema = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete jsonSchema.$schema; // providers want the bare schema
  return jsonSchema;
}

/** The longest a tool that runs as a local activity may take per attempt. */
export const MAX_LOCAL_TOOL_SECONDS = 30;

/** Why a tool may not run as a local activity as it declares, or null. */
export function localToolProblem(
  tool: Pick<ToolDefinition, 'name' | 'effect' | 'placement' | 'local'>,
): string | null {
  if (!tool.local) return null;
  const { timeoutSeconds } = tool.local;
  if (tool.effect !== 'read')
    return `tool ${tool.name} has effect ${tool.effect}: only a read may run locally`;
  if ((tool.placement ?? 'worker') !== 'worker')
    return `tool ${tool.name} runs on compute nodes, not locally`;
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > MAX_LOCAL_TOOL_SECONDS)
    return `tool ${tool.name}: a local tool's timeoutSeconds must be above 0 and at most ${MAX_LOCAL_TOOL_SECONDS}`;
  return null;
}

export class ToolRegistry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly tools = new Map<string, ToolDefinition<any, any>>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  register(...tools: ToolDefinition<any, any>[]): this {
    for (const tool of tools) {
      if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is registered twice`);
      const problem = localToolProblem(tool);
      if (problem) throw new Error(problem);
      this.tools.set(tool.name, tool);
    }
    return this;
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** The plain-data descriptors a task carries, in the order asked for; unknown names are an error. */
  describe(names: string[]): ToolDescriptor[] {
    return names.map((name) => {
      const tool = this.tools.get(name);
      if (!tool) throw new Error(`unknown tool ${name}; registered: ${this.names().join(', ')}`);
      const descriptor: ToolDescriptor = {
        name: tool.name,
        description: tool.description,
        effect: tool.effect,
        dataClass: tool.dataClass,
        placement: tool.placement ?? 'worker',
        inputSchema: jsonSchemaOf(tool.input),
      };
      // where it runs is not part of what it means: `local` stays out of the definition's hash
      const local = tool.local ? { local: { timeoutSeconds: tool.local.timeoutSeconds } } : {};
      return { ...descriptor, definitionHash: definitionHashOf(descriptor), ...local };
    });
  }
}
