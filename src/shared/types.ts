/**
 * The vocabulary every layer speaks: plain data that describes an agent task, its tools, routes,
 * limits and blob references. Any module may import it; it imports nothing.
 *
 * Plain data that describes an agent task. It travels in workflow input and history, so it holds
 * no functions and no zod objects: tools appear as descriptors with their JSON Schema.
 */
export type ToolEffect = 'read' | 'write' | 'spend' | 'irreversible';
export type DataClass = 'public' | 'internal' | 'confidential';
/** Where a model or compute node runs, from most to least private. */
export type TrustTier = 'local' | 'private' | 'public';

export interface ToolDescriptor {
  name: string;
  description: string;
  effect: ToolEffect;
  /** Class of the data the tool's output carries; it taints the task's transcript. */
  dataClass: DataClass;
  /** `compute` tools run as jobs on a compute node's task queue; `worker` tools on the steward queue. */
  placement: 'worker' | 'compute';
  inputSchema: Record<string, unknown>;
  /**
   * sha256 of the tool's definition; an approval is bound to it, so a changed tool does not inherit
   * one. Absent in older histories (then computed from the fields above).
   */
  definitionHash?: string;
  /**
   * The least private tier the tool's input may reach beyond Steward (an open-world MCP tool's:
   * `public`); the policy's data boundaries apply to it as to a model route. Absent: it keeps its input.
   */
  reach?: TrustTier;
  /**
   * A short read that may run as a local activity, inside the workflow task that asks for it (no
   * round trip through the server's task queue): at most `timeoutSeconds` per attempt. Only
   * `read` tools on the worker may; see `ToolDefinition.local`.
   */
  local?: { timeoutSeconds: number };
}

/** A fixed plan. Strings may hold `{{input.x}}` / `{{steps.id.output.y}}` / `{{steps.id.text}}`. */
export type PlanStep =
  | { id: string; kind: 'tool'; tool: string; input: Record<string, unknown> }
  | { id: string; kind: 'draft'; prompt: string; maxOutputTokens?: number }
  | { id: string; kind: 'decide'; prompt: string; tools: string[] }
  | { id: string; kind: 'finish'; result: string };

export interface TaskLimits {
  maxSteps: number;
  budgetUsd: number;
  deadlineSeconds: number;
  /** Invalid model outputs fed back before the task stops. */
  maxInvalidOutputs: number;
  /** Denied actions fed back before the task stops. */
  maxDenials: number;
  maxOutputTokens: number;
  /** Continue-as-new after this many steps in one run (besides when Temporal suggests it). */
  stepsPerRun?: number;
}

export interface AgentDescriptor {
  name: string;
  description: string;
  instructions: string;
  tools: ToolDescriptor[];
  plan?: PlanStep[];
}

export interface Price {
  inputPerMTok: number;
  outputPerMTok: number;
}

export interface ModelRoute {
  id: string;
  provider: string;
  model: string;
  trust: TrustTier;
  /** Absent when unknown: such a route is never used, rather than treated as free. */
  price?: Price;
  /** Typical latency, for the `latency` preference. */
  latencyMs?: number;
}

export interface ComputeNode {
  id: string;
  taskQueue: string;
  trust: TrustTier;
  pricePerJobUsd?: number;
  /** A node that has not picked a job up within this time is treated as down (default 30 s). */
  pickupTimeoutSeconds?: number;
}

export type RoutePreference = 'cost' | 'latency' | 'privacy';

/**
 * A value kept in the blob store instead of history: history carries its sha256, size and a short
 * preview; activities resolve it back to the value when they need it.
 */
export interface BlobRef {
  $blob: string;
  bytes: number;
  preview: string;
}

export function isBlobRef(value: unknown): value is BlobRef {
  return typeof value === 'object' && value !== null && typeof (value as BlobRef).$blob === 'string';
}

/** A structured value (a tool's output) shown to a model as JSON once its blob references are resolved. */
export interface JsonPart {
  json: unknown;
}

/** Prompt text in pieces, some of which may still be in the blob store. */
export type ContentParts = Array<string | BlobRef | JsonPart>;

/** Tokens a model call used, as the provider reports them. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** Name of the pseudo-tool a model calls to end the task with its answer. */
export const FINISH_TOOL = 'finish';
