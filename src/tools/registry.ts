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

export class ToolRegistry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly tools = new Map<string, ToolDefinition<any, any>>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  register(...tools: ToolDefinition<any, any>[]): this {
    for (const tool of tools) {
      if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is registered twice`);
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
      return { ...descriptor, definitionHash: definitionHashOf(descriptor) };
    });
  }
}
