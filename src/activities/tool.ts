import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { canonicalJson } from '../audit/canonicalJson';
import { ErrorTypes, failure } from '../errors';
import type { BlobStore } from '../runtime/blobStore';
import type { ToolRegistry } from '../tools/registry';
import { withHeartbeat } from './heartbeat';
import type { ToolStepInput, ToolStepOutput } from './types';

export interface ToolActivityDeps {
  tools: ToolRegistry;
  blobs: BlobStore;
  logger: Logger;
}

/** Runs one registered tool: the same activity serves the steward queue and compute-node queues. */
export function createToolActivity({ tools, blobs, logger }: ToolActivityDeps) {
  return async function runTool(input: ToolStepInput): Promise<ToolStepOutput> {
    const tool = tools.get(input.tool);
    if (!tool) throw failure(ErrorTypes.NotRegistered, `no tool ${input.tool} on this worker`);
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
        throw failure(ErrorTypes.ToolFailed, `${tool.name} failed: ${(err as Error).message}`);
      }
    });
    const checked = tool.output.safeParse(output);
    if (!checked.success) {
      throw failure(
        ErrorTypes.ToolRejected,
        `${tool.name} returned output that breaks its schema: ${z.prettifyError(checked.error)}`,
      );
    }
    const json = canonicalJson(checked.data);
    return {
      output: await blobs.externalize(checked.data),
      outputDigest: createHash('sha256').update(json).digest('hex'),
      bytes: Buffer.byteLength(json),
    };
  };
}
