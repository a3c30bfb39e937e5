import type { z } from 'zod';
import type { PlanStep, TaskLimits } from '../shared/types';

/** An agent as its author writes it; the client turns it into the plain-data descriptor a task carries. */
export interface AgentDefinition {
  name: string;
  description: string;
  instructions: string;
  /** Names of registered tools the agent may use; anything else is denied. */
  tools: string[];
  /** A fixed plan keeps the decisions that matter out of the model's hands. */
  plan?: PlanStep[];
  /** Checked before the task starts, so bad input is refused with a message, not run. */
  input?: z.ZodType;
  defaultInput?: unknown;
  limits?: Partial<TaskLimits>;
  /** For agents whose loop lets the model choose freely: the smallest model that does the job. */
  minimumModel?: { parametersB: number; why: string };
}
