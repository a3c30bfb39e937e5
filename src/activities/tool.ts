import { workerIdentity } from './identity';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { canonicalJson } from '../audit/canonicalJson';
import { aboveDataClass } from '../policies/evaluate';
import { ErrorTypes, failure } from '../errors';
import type { BlobStore } from '../stores/blobStore';
import { permanentFsReason } from '../tools/fsErrors';
import type { ToolDefinition, ToolRegistry } from '../tools/registry';
import { withHeartbeat } from './heartbeat';
import type { DataClass, TrustTier } from '../shared/types';
import type { TaskScope, ToolStepInput, ToolStepOutput } from '../workflows/contract';

/** A tool's output larger than this (as canonical JSON) is not recorded: it belongs in a file, not in history. */
export const MAX_TOOL_OUTPUT_BYTES = 8 * 1024 * 1024;

export interface ToolActivityDeps {
  tools: ToolRegistry;
  blobs: BlobStore;
  logger: Logger;
  /** Set on a compute node: its trust tier and the data boundaries, so it refuses jobs above its ceiling. */
  node?: { id: string; trust: TrustTier; boundaries: Record<DataClass, TrustTier[]> };
}

/** Runs one registered tool: the same activity serves the steward queue and compute-node queues. */
export function createToolActivity({ tools, blobs, logger, node }: ToolActivityDeps) {
  return async function runTool(input: ToolStepInput): Promise<ToolStepOutput> {
    const tool = tools.get(input.tool);
    if (!tool) throw failure(ErrorTypes.NotRegistered, `no tool ${input.tool} on this worker`);
    if (input.scope) checkScope(tool, input.scope, node);
    const parsed = tool.input.safeParse(await blobs.resolve(input.input));
    if (!parsed.success) {
      throw failure(
        ErrorTypes.ToolInputInvalid,
        `input of ${tool.name} is invalid: ${z.prettifyError(parsed.error)}`,
      );
    }
    const output = await withHeartbeat(async (beat) => {
      try {
        return await tool.handler(parsed.data, {
          idempotencyKey: input.idempotencyKey,
          taskId: input.taskId,
          step: input.step,
          signal: Context.current().cancellationSignal,
          heartbeat: beat,
          logger: logger.child({ tool: tool.name, taskId: input.taskId, step: input.step }),
        });
      } catch (err) {
        if (err instanceof ApplicationFailure || Context.current().cancellationSignal.aborted) throw err;
        throw handlerFailure(tool.name, err);
      }
    });
    return recordOutput(tool, output, blobs);
  };
}

/**
 * The second line of enforcement: the workflow decided, the activity re-checks against the task's
 * scope and this worker's own registry, and refuses (never retried) what falls outside it.
 */
function checkScope(tool: ToolDefinition, scope: TaskScope, node: ToolActivityDeps['node']): void {
  const refuse = (why: string) => failure(ErrorTypes.ToolRejected, `out of the task's scope: ${why}`);
  if (!scope.tools.includes(tool.name)) throw refuse(`the task may not use ${tool.name}`);
  if (!scope.effects.includes(tool.effect))
    throw refuse(`${tool.name} has effect ${tool.effect} here, which the task was not granted`);
  if (scope.dataCeiling && aboveDataClass(tool.dataClass, scope.dataCeiling))
    throw refuse(
      `${tool.name} returns ${tool.dataClass} data, above the task's ceiling (${scope.dataCeiling})`,
    );
  if (node && !node.boundaries[scope.dataClass]?.includes(node.trust)) {
    throw refuse(`compute node ${node.id} (${node.trust}) may not see ${scope.dataClass} data`);
  }
}

/** A handler's own error: retried only if a retry might fix it (a file-system code that cannot change is final). */
function handlerFailure(name: string, err: unknown): ApplicationFailure {
  const permanent = permanentFsReason(err);
  if (permanent) {
    const code = (err as NodeJS.ErrnoException).code;
    return failure(ErrorTypes.ToolRejected, `${name} failed: a path ${permanent} (${code})`);
  }
  return failure(
    ErrorTypes.ToolFailed,
    `${name} failed: ${err instanceof Error ? err.message : String(err)}`,
  );
}

/**
 * Checks, digests and stores a tool's output. The handler has returned, so its effect has happened:
 * any failure here is final, since a retry would run the handler, and repeat the effect, again.
 */
async function recordOutput(
  tool: ToolDefinition,
  output: unknown,
  blobs: BlobStore,
): Promise<ToolStepOutput> {
  try {
    const checked = tool.output.safeParse(output);
    if (!checked.success) throw new Error(`it breaks its schema: ${z.prettifyError(checked.error)}`);
    const json = canonicalJson(checked.data, { maxChars: MAX_TOOL_OUTPUT_BYTES });
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_TOOL_OUTPUT_BYTES) {
      throw new Error(
        `it is ${bytes} bytes, over the ${MAX_TOOL_OUTPUT_BYTES}-byte limit for a tool's output`,
      );
    }
    return {
      output: await blobs.externalize(checked.data),
      outputDigest: createHash('sha256').update(json).digest('hex'),
      bytes,
      worker: workerIdentity,
    };
  } catch (err) {
    throw failure(
      ErrorTypes.ToolOutputUnrecorded,
      `${tool.name} ran, so its effect happened, but its output could not be recorded: ` +
        `${err instanceof Error ? err.message : String(err)}; it is not retried, which would repeat the effect`,
    );
  }
}
