import { z } from 'zod';
import type { AgentDefinition } from '../src/agents/definition';
import { defineTool, type ToolDefinition } from '../src/tools/registry';

/** The bench's agents and tools: what the Steward worker registers and the driver starts. */
export const AGENT_STEPS = 'bench-steps';
export const AGENT_APPROVAL = 'bench-approval';
export const AGENT_MODEL = 'bench-model';
export const READ_TOOL = 'bench_read';
export const WRITE_TOOL = 'bench_write';
/** The input of W3/W4's write step: its digest (and `approval-1`) name the pending approval. */
export const WRITE_INPUT = { n: 1 };
export const STEPS_PER_TASK = 10;
/** bench/audit.ts's long task: enough read steps that its trail is exported in a batch (256 entries) too. */
export const AGENT_LONG = 'bench-long';
export const LONG_STEPS = 150;
export const MODEL_CALLS_PER_TASK = 5;

/** A no-op read: the cheapest step Steward can take (policy allows reads by default). */
export const readTool = defineTool({
  name: READ_TOOL,
  description: 'Reads nothing and returns the step it was given.',
  effect: 'read',
  dataClass: 'public',
  local: { timeoutSeconds: 5 }, // a short read: a local activity in lean runs
  input: z.object({ step: z.number() }),
  output: z.object({ step: z.number() }),
  handler: async ({ step }) => ({ step }),
});

/** A write that does nothing; the default policy makes it wait for an approval. */
export function writeTool(onStart: (taskId: string) => void): ToolDefinition {
  return defineTool({
    name: WRITE_TOOL,
    description: 'Writes nothing; needs an approval under the default policy.',
    effect: 'write',
    dataClass: 'public',
    input: z.object({ n: z.number() }),
    output: z.object({ n: z.number() }),
    handler: async ({ n }, context) => {
      onStart(context.taskId);
      return { n };
    },
  });
}

export const benchAgents: AgentDefinition[] = [
  {
    name: AGENT_STEPS,
    description: 'ten sequential no-op read steps',
    instructions: 'n/a',
    tools: [READ_TOOL],
    limits: { maxSteps: STEPS_PER_TASK + 1 },
    plan: [
      ...Array.from({ length: STEPS_PER_TASK }, (_, i) => ({
        id: `s${i + 1}`,
        kind: 'tool' as const,
        tool: READ_TOOL,
        input: { step: i + 1 },
      })),
      { id: 'done', kind: 'finish' as const, result: 'ok' },
    ],
  },
  {
    name: AGENT_APPROVAL,
    description: 'one write that waits for an approval',
    instructions: 'n/a',
    tools: [WRITE_TOOL],
    limits: { maxSteps: 2 },
    plan: [
      { id: 'write', kind: 'tool', tool: WRITE_TOOL, input: WRITE_INPUT },
      { id: 'done', kind: 'finish', result: 'ok' },
    ],
  },
  {
    name: AGENT_LONG,
    description: `${LONG_STEPS} sequential no-op read steps`,
    instructions: 'n/a',
    tools: [READ_TOOL],
    limits: { maxSteps: LONG_STEPS + 1 },
    plan: [
      ...Array.from({ length: LONG_STEPS }, (_, i) => ({
        id: `s${i + 1}`,
        kind: 'tool' as const,
        tool: READ_TOOL,
        input: { step: i + 1 },
      })),
      { id: 'done', kind: 'finish' as const, result: 'ok' },
    ],
  },
  {
    name: AGENT_MODEL,
    description: 'the model chooses: four reads, then finish',
    instructions: 'Call bench_read until the server says finish.',
    tools: [READ_TOOL],
    limits: { maxSteps: 2 * MODEL_CALLS_PER_TASK },
  },
];
