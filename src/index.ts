/**
 * Steward's public API: what a program that uses Steward as a package may import. Everything else
 * under src/ is internal and may change without notice.
 *
 *   import { createWorker, defineAgent, defineTool } from 'steward';
 */
import type { AgentDefinition } from './agents/definition';

/** Identity function that type-checks an agent as you write it; registered agents are checked when the worker starts. */
export function defineAgent(agent: AgentDefinition): AgentDefinition {
  return agent;
}

export type { AgentDefinition } from './agents/definition';
export { defineTool } from './tools/registry';
export type { ToolContext, ToolDefinition } from './tools/registry';
export { ErrorTypes, failure } from './errors';
export type { ErrorType } from './errors';

export { createWorker } from './runtime/stewardWorker';
export type { CreateWorkerOptions, StewardWorker } from './runtime/stewardWorker';
export { StewardClient, TaskNotFound, newTaskId } from './runtime/client';
export type { TaskSummary } from './runtime/client';

export { acceptMcpServer } from './tools/mcp/accept';
export type { AcceptedTool } from './tools/mcp/accept';
export type { McpServerStatus } from './tools/mcp/source';
export { ConfigError, loadConfig, parseConfig } from './config/load';
export type { LoadedConfig } from './config/load';
export type { StewardConfig, StewardConfigInput } from './config/schema';

export { verifyAudit } from './audit/chain';
export type { AuditEntry, ChainCheck } from './audit/chain';
export type { ApprovalRequest, ApprovalOutcome } from './policies/approval';
export type {
  StopReason,
  TaskNarrowing,
  TaskRequest,
  TaskResult,
  TaskState,
  TaskStatus,
} from './workflows/contract';
export type { DataClass, PlanStep, TaskLimits, ToolDescriptor, ToolEffect, TrustTier } from './shared/types';
