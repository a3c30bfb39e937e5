import { workerIdentity } from './identity';
import type { Attributes, Span } from '@opentelemetry/api';
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
import { inSpan, setContent, type ActivityTracing } from './trace';
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
  /** Set when telemetry is on: each call is an `execute_tool {tool}` span. */
  tracing?: ActivityTracing;
}

/** Runs one registered tool: the same activity serves the steward queue and compute-node queues. */
export function createToolActivity({ tools, blobs, logger, node, tracing }: ToolActivityDeps) {
  return function runTool(input: ToolStepInput): Promise<ToolStepOutput> {
    return inSpan(tracing, `execute_tool ${input.tool}`, toolAttributes(input, node?.id), async (span) => {
      const out = await runToolStep(input, span);
      setContent(span, tracing, 'gen_ai.tool.call.result', await blobs.resolve(out.output));
      return out;
    });
  };

  async function runToolStep(input: ToolStepInput, span: Span | undefined): Promise<ToolStepOutput> {
    const tool = tools.get(input.tool);
    if (!tool) throw failure(ErrorTypes.NotRegistered, `no tool ${input.tool} on this worker`);
    span?.setAttribute('steward.tool.effect', tool.effect);
    if (input.scope) checkScope(tool, input.scope, node);
    const resolved = await blobs.resolve(input.input);
    setContent(span, tracing, 'gen_ai.tool.call.arguments', resolved);
    const parsed = tool.input.safeParse(resolved);
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
  }
}

/**
 * The GenAI semantic-convention attributes of a tool call, and Steward's own: the policy's decision
 * and rules, who approved the call and when, the compute node and its price. Never its arguments.
 */
function toolAttributes(input: ToolStepInput, nodeId: string | undefined): Attributes {
  const trace = input.trace;
  const approval = trace?.approval;
  return {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': input.tool,
    'gen_ai.tool.type': 'function',
    // a plan's step has no model call id: its idempotency key names the call as uniquely
    'gen_ai.tool.call.id': trace?.callId ?? input.idempotencyKey,
    'steward.task.id': input.taskId,
    'steward.step': input.step,
    ...(nodeId ? { 'steward.node.id': nodeId } : {}),
    ...(trace ? { 'steward.policy.decision': trace.decision, 'steward.policy.rule_ids': trace.ruleIds } : {}),
    ...(approval
      ? {
          'steward.approval.id': approval.id,
          'steward.approval.approved_by': approval.approvedBy,
          'steward.approval.approved_at': approval.approvedAt,
          'steward.approval.edited': approval.edited ?? false,
        }
      : {}),
    ...(trace?.costUsd !== undefined ? { 'steward.cost_usd': trace.costUsd } : {}),
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
