import type { Logger } from 'pino';
import type { ModelProvider } from '../providers/types';
import type { BlobStore } from '../stores/blobStore';
import type { ToolRegistry } from '../tools/registry';
import { createAuditActivity, type AuditActivityDeps } from './audit';
import { createModelActivity } from './model';
import { createSpendActivities, type SpendActivityDeps } from './spend';
import { createTaskActivities, type TaskActivityDeps } from './task';
import { createToolActivity, type ToolActivityDeps } from './tool';
import type { ActivityTracing } from './trace';
import { withWellFormedFailures } from './wellFormedFailures';

export interface ActivityDeps {
  providers: Map<string, ModelProvider>;
  tools: ToolRegistry;
  blobs: BlobStore;
  logger: Logger;
  /** Set for a compute node's worker: its data ceiling (see ToolActivityDeps). */
  node?: ToolActivityDeps['node'];
  /** Set when telemetry is on: model and tool calls become spans (README: Traces). */
  tracing?: ActivityTracing;
  /** The install's key: the model activity signs what a call cost for the spend ledgers. */
  auditKey?: AuditActivityDeps['auditKey'];
}

/** Every step's side effect, built from its dependencies so tests inject real local servers. */
export function createActivities(deps: ActivityDeps) {
  return withWellFormedFailures({
    callModel: createModelActivity(deps),
    runTool: createToolActivity(deps),
  });
}

/**
 * The `steward` queue's activities: the steps, resolving a start request from the worker's own
 * agents and configuration, and reserving spend in the shared ledgers (compute nodes run steps only).
 */
export function createStewardActivities(
  deps: ActivityDeps & TaskActivityDeps & SpendActivityDeps & AuditActivityDeps,
) {
  return withWellFormedFailures({
    ...createActivities(deps),
    ...createTaskActivities(deps),
    ...createSpendActivities(deps),
    exportAudit: createAuditActivity(deps),
  });
}

export type StepActivities = ReturnType<typeof createActivities>;
export type StewardActivities = ReturnType<typeof createStewardActivities>;
export type { ResolvedTask, TaskActivityDeps } from './task';
export type { ExportAuditInput } from './audit';
export type { ActivityTracing } from './trace';
