import type { BlobRef, ModelRoute, ToolDescriptor } from '../agents/types';
import type { TokenUsage } from '../providers/types';
import type { TranscriptMessage } from '../workflows/types';

export interface ModelStepInput {
  taskId: string;
  step: number;
  route: ModelRoute;
  /** Earlier messages of the conversation, kept in the blob store; they come before `messages`. */
  transcriptBase?: BlobRef;
  messages: TranscriptMessage[];
  mode: 'action' | 'text';
  tools: ToolDescriptor[];
  /** In action mode: offer the `finish` tool, and take a plain-text answer as the final result. */
  allowFinish: boolean;
  maxOutputTokens: number;
  /** When `messages` are larger than this, store base and messages as one blob and return it. */
  compactAboveBytes?: number;
}

export interface ModelStepOutput {
  provider: string;
  model: string;
  /** Null when the endpoint reported no usage: the step is charged what was reserved for it. */
  usage: TokenUsage | null;
  text?: string | BlobRef;
  /** A proposed action that validated against its tool's input schema. */
  action?: { callId: string; tool: string; input: unknown };
  /** The whole conversation this call saw, stored as the caller's new transcript base. */
  transcriptBase?: BlobRef;
  /** Output that did not validate, with the reason, to feed back to the model. */
  invalid?: { callId?: string; raw: string; error: string };
}

export interface ToolStepInput {
  taskId: string;
  step: number;
  tool: string;
  input: unknown;
  /** `workflowId:step`: the same on every retry and replay, so effects happen once. */
  idempotencyKey: string;
}

export interface ToolStepOutput {
  output: unknown;
  /** sha256 of the output's canonical JSON, for the audit trail. */
  outputDigest: string;
  bytes: number;
}

/** Name of the pseudo-tool a model calls to end the task with its answer. */
export const FINISH_TOOL = 'finish';
