import { z } from 'zod';

/**
 * An agent declared in configuration (steward.yaml's `agents:` or a file named by `agentFiles:`):
 * the same parts as a TypeScript agent, with its input schema as JSON Schema. Plain data, checked
 * when the config loads (src/config/agents.ts); the worker turns it into an agent definition.
 */

/** Step ids appear in templates as `{{steps.<id>.output…}}`: no dots, nothing a template cannot name. */
const stepId = z.string().regex(/^[\w-]{1,64}$/, 'a step id is 1-64 letters, digits, _ or -');
const toolName = z.string().min(1).max(200);
const text = (max: number) => z.string().min(1).max(max);

export const planStepSchema = z.discriminatedUnion('kind', [
  z
    .object({
      id: stepId,
      kind: z.literal('tool'),
      tool: toolName,
      /** The tool's arguments; strings may hold `{{input.x}}` / `{{steps.id.output.y}}`. */
      input: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
  z
    .object({
      id: stepId,
      kind: z.literal('draft'),
      prompt: text(100_000),
      maxOutputTokens: z.number().int().min(1).max(1_000_000).optional(),
    })
    .strict(),
  z
    .object({
      id: stepId,
      kind: z.literal('decide'),
      prompt: text(100_000),
      tools: z.array(toolName).min(1).max(100),
    })
    .strict(),
  z.object({ id: stepId, kind: z.literal('finish'), result: z.string().max(100_000) }).strict(),
]);

/** `limits` is the config's own narrowing schema (same bounds), passed in to keep one definition. */
export function agentEntrySchema<L extends z.ZodType>(limits: L) {
  return z
    .object({
      name: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'an agent name is 1-64 letters, digits, ., _ or -'),
      description: text(2_000),
      instructions: text(100_000),
      /** The tools it may use: built-in, your program's, or an MCP server's (`server.tool`). */
      tools: z.array(toolName).max(200).default([]),
      plan: z.array(planStepSchema).min(1).max(200).optional(),
      /** JSON Schema of the task's input; converted to zod when the config loads. */
      inputSchema: z.record(z.string(), z.unknown()).optional(),
      defaultInput: z.unknown().optional(),
      limits: limits.optional(),
      minimumModel: z
        .object({ parametersB: z.number().positive().max(1_000_000), why: text(500) })
        .strict()
        .optional(),
    })
    .strict();
}
