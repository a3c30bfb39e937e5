/**
 * The contract between the workflow and everyone who talks to it: what a caller sends to start a
 * task (`TaskRequest`), what the worker resolves (`TaskSpec`), what a run carries to the next
 * (`CarriedState`), what the outside sees (`TaskState`, `TaskResult`), and the inputs and outputs
 * of each step's activity. Types only: activities and clients import it with `import type`.
 */
import type {
  AgentDescriptor,
  BlobRef,
  ComputeNode,
  ContentParts,
  DataClass,
  ModelRoute,
  RoutePreference,
  TaskLimits,
  TokenUsage,
  ToolDescriptor,
  ToolEffect,
} from '../shared/types';
import type { AuditEntry, ChainHead } from '../audit/chain';
import type { SignedHead } from '../audit/head';
import type { CarrySignature } from '../audit/carry';
import type { TrustedKey } from '../audit/signing';
import type { DailyCap } from '../policies/ledger';
import type { ApprovalRequest } from '../policies/approval';
import type { Health } from '../policies/routing';
import type { Policy, PolicyNarrowing } from '../policies/types';

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
  /** The audit trail's head and its entries not yet in the audit store (older runs: every entry). */
  audit: CarriedAudit;
  startedAt: string;
  runs: number;
}

/** The trail as a run carries it to the next: its head and what the store does not hold yet. */
export interface CarriedAudit {
  head: ChainHead;
  /** Entries not yet written to the audit store (every entry, when the task does not export). */
  pending: AuditEntry[];
  /** The last head a worker signed. */
  signed?: SignedHead;
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
  /** Rules that can only make the policy's decisions stricter, and a lower data ceiling. */
  policy?: PolicyNarrowing;
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
  /** sha256 of the policy's canonical JSON, fixed when the task starts. */
  policyHash: string;
  /** The policy file the policy was read from, and the sha256 of its bytes then (absent: the inline policy). */
  policySource?: { file: string; sha256: string };
  /** Keys whose signed decisions the task accepts (none: no decision is accepted). */
  trustedKeys: TrustedKey[];
  /** False when the worker writes no audit store (`stores.audit: none`): the trail then stays in history only. */
  auditExport: boolean;
  /** Daily caps shared with every task of the same principal, or of the same agent (the ledgers). */
  budgets?: { principal?: DailyCap; agent?: DailyCap };
  carried?: CarriedState;
}

/**
 * What a run hands to its next run by continue-as-new: the spec with its state, and a worker's
 * signature over them that names the run they come from (audit/carry.ts).
 */
export interface ContinuedTask extends TaskSpec {
  carried: CarriedState;
  carrySignature: CarrySignature;
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
  /** The head the install's key signed at the end (absent when the task does not export its trail). */
  auditSigned?: SignedHead;
  /** Entries the audit store never took (it was down for an hour): kept here, in history, instead. */
  auditUnwritten?: AuditEntry[];
}

// ---- step activities ----------------------------------------------------------------------------

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
  /** The provider's id of its response, when it gives one. */
  responseId?: string;
  /** Fields of the answer that held a registered secret, scrubbed before they left the provider. */
  redacted?: string[];
  /** The identity of the worker that ran the call. */
  worker?: string;
}

export interface ToolStepInput {
  taskId: string;
  step: number;
  tool: string;
  input: unknown;
  /** `workflowId:step`: the same on every retry and replay, so effects happen once. */
  idempotencyKey: string;
  /** What the task may do, checked again by the activity (absent in older histories). */
  scope?: TaskScope;
  /** Why the call runs, for its trace span (absent in older histories); the activity decides nothing by it. */
  trace?: ToolStepTrace;
}

/**
 * The decisions behind a tool call, made in workflow code, that its `execute_tool` span reports:
 * the model's call id, the policy's decision and rules, and the approval that let it run.
 */
export interface ToolStepTrace {
  /** The id the model gave the call (absent for a plan's step). */
  callId?: string;
  decision: 'allow' | 'approve';
  ruleIds: string[];
  approval?: {
    id: string;
    /** The approvers whose approvals made the quorum. */
    approvedBy: string[];
    /** When the deciding approval arrived (workflow time). */
    approvedAt: string;
    /** An approver edited the arguments before approving. */
    edited?: boolean;
  };
  /** A compute node's price for the job. */
  costUsd?: number;
}

/**
 * A task's scope as the activity re-checks it: a bug in workflow code cannot make a tool do more
 * than the task's resolved spec allows, nor send data to a node that may not see it.
 */
export interface TaskScope {
  principal: string;
  /** The tools the task may use. */
  tools: string[];
  /** Their effects as recorded when the task started; a tool whose effect grew since is refused. */
  effects: ToolEffect[];
  /** The class of the data the task has seen so far: a compute node above it is refused. */
  dataClass: DataClass;
  /** The most sensitive data the task may touch (the policy's ceiling): a tool returning more is refused. */
  dataCeiling?: DataClass;
  policyHash?: string;
}

export interface ToolStepOutput {
  output: unknown;
  /** sha256 of the output's canonical JSON, for the audit trail. */
  outputDigest: string;
  bytes: number;
  /** The identity of the worker (or compute node) that ran it (absent in older histories). */
  worker?: string;
}
