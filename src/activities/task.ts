import { ApplicationFailure } from '@temporalio/common';
import type { AgentRegistry } from '../agents';
import { ErrorTypes } from '../errors';
import type { TrustedKey } from '../audit/signing';
import { resolveTaskSpec, TaskRefused } from './taskSpec';
import type { StewardConfig } from '../config/schema';
import type { BlobStore } from '../stores/blobStore';
import type { ToolRegistry } from '../tools/registry';
import type { TaskSpec } from '../workflows/contract';

export interface TaskActivityDeps {
  config: StewardConfig;
  agents: AgentRegistry;
  tools: ToolRegistry;
  blobs: BlobStore;
  /** Keys whose signed decisions tasks accept: this install's and the configured ones (none: no decision is accepted). */
  trustedKeys?: TrustedKey[];
}

export type ResolvedTask = { spec: TaskSpec } | { refused: string };

/**
 * Resolves a start request on the worker, from the worker's own agents, tools and configuration: the
 * caller names the agent and may narrow its limits, never widen them. Runs once, when the task starts;
 * its result is recorded in history, so a replay needs nothing else.
 */
export function createTaskActivity({ config, agents, tools, blobs, trustedKeys = [] }: TaskActivityDeps) {
  return async function resolveTask(start: { taskId: string; request: unknown }): Promise<ResolvedTask> {
    const request = start.request as { input?: unknown } | null;
    try {
      // Large input was moved to the blob store by the client: check the value, keep history small.
      const withInput =
        request && typeof request === 'object' && 'input' in request
          ? { ...request, input: await blobs.resolve(request.input) }
          : request;
      const spec = resolveTaskSpec(config, agents, tools, start.taskId, withInput);
      const auditExport = config.stores.audit.kind !== 'none';
      return { spec: { ...spec, input: await blobs.externalize(spec.input), trustedKeys, auditExport } };
    } catch (err) {
      if (err instanceof TaskRefused) return { refused: err.message };
      // the input's blob is not in this worker's store: no retry brings it back
      if (err instanceof ApplicationFailure && err.type === ErrorTypes.BlobMissing)
        return { refused: err.message };
      throw err;
    }
  };
}
