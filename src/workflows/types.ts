import type {
  AgentDescriptor,
  BlobRef,
  ComputeNode,
  ContentParts,
  DataClass,
  ModelRoute,
  RoutePreference,
  TaskLimits,
} from '../agents/types';
import type { AuditEntry } from '../audit/chain';
import type { ApprovalRequest } from '../policies/approval';
import type { Health } from '../policies/routing';
import type { Policy } from '../policies/types';

export type StopReason =
  | 'completed'
  | 'budget_exhausted'
  | 'deadline'
  | 'denied'
  | 'approval_rejected'
  | 'approval_expired'
  | 'max_steps'
  | 'no_route'
  | 'cancelled'
  | 'provider_failure'
  | 'invalid_output'
  | 'tool_failure'
  /** The worker refused the start request: an unknown agent, bad input, or a widening of its rules. */
  | 'refused';

export type TaskStatus = 'running' | 'awaiting_approval' | 'completed' | 'stopped';

/** One message of the agent's transcript; content parts may be blob references. */
export interface TranscriptMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: ContentParts;
  toolCall?: { id: string; name: string; arguments: string };
  toolCallId?: string;
}

/** What a run hands to the next one when it continues as new. */
export interface CarriedState {
  step: number;
  spendUsd: number;
  invalidOutputs: number;
  denials: number;
  dataClass: DataClass;
  health: Health;
  transcript: TranscriptMessage[];
  /** The transcript's earlier messages, in the blob store; `transcript` holds those since. */
  transcriptBase?: BlobRef;
  planIndex: number;
  stepResults: Record<string, { output?: unknown; text?: string | BlobRef }>;
  audit: AuditEntry[];
  startedAt: string;
  runs: number;
}

/**
 * What a caller sends to start a task: which agent, its input, on whose behalf, and optionally a
 * narrowing. Everything else (tools, policy, approvers, limits, routes) the worker resolves from its
 * own registry and configuration, so a caller can tighten a task but never widen it.
 */
export interface TaskRequest {
  agent: string;
  input?: unknown;
  principal: string;
  narrow?: TaskNarrowing;
}

export interface TaskNarrowing {
  /** Each limit may only be lower than what the operator's config and the agent allow. */
  limits?: Partial<TaskLimits>;
  /** A subset of the agent's tools. */
  tools?: string[];
}

/** What the worker resolved for a task when it started; recorded in history, so replay needs nothing else. */
export interface TaskSpec {
  taskId: string;
  agent: AgentDescriptor;
  input: unknown;
  /** On whose behalf the agent acts. */
  principal: string;
  limits: TaskLimits;
  policy: Policy;
  models: ModelRoute[];
  computeNodes: ComputeNode[];
  preference: RoutePreference;
  /** sha256 of the policy's canonical JSON, fixed when the task starts (absent in older histories). */
  policyHash?: string;
  carried?: CarriedState;
}

export interface TaskState {
  taskId: string;
  agent: string;
  principal: string;
  status: TaskStatus;
  step: number;
  spendUsd: number;
  budgetUsd: number;
  dataClass: DataClass;
  pendingApproval?: ApprovalRequest;
  lastError?: string;
  stopReason?: StopReason;
  stopDetail?: string;
  result?: unknown;
  current?: string;
  startedAt: string;
  deadline: string;
  audit: { entries: number; head: string };
}

export interface TaskResult {
  taskId: string;
  status: 'completed' | 'stopped';
  stopReason: StopReason;
  detail?: string;
  result?: unknown;
  steps: number;
  spendUsd: number;
  auditHead: string;
  auditEntries: number;
}
