import { workflowInfo } from '@temporalio/workflow';
import type { ToolDescriptor } from '../shared/types';
import type { TaskScope, ToolStepInput, ToolStepOutput, ToolStepTrace } from './contract';
import { roundUsd } from '../policies/budget';
import { evaluateAction, stricterDataClass } from '../policies/evaluate';
import { chooseComputeNodes } from '../policies/routing';
import { definitionHashOf } from '../policies/approval';
import { awaitApproval, boundDigestOf } from './approvalStep';
import { StopTask } from './failures';
import { reserveShared } from './spend';
import { DEFAULT_PICKUP_TIMEOUT_SECONDS, runTool, runToolLocally, TOOL_OPTIONS } from './options';
import type { TaskContext } from './taskContext';
import { blobHashes, resultDigest } from './trail';
import type { AuditFields } from '../audit/chain';

/** What the activity re-checks: the task's tools and their effects as resolved at start, and its data. */
function scopeOf(task: TaskContext): TaskScope {
  const { spec, carried } = task;
  return {
    principal: spec.principal,
    tools: spec.agent.tools.map((t) => t.name),
    effects: [...new Set(spec.agent.tools.map((t) => t.effect))],
    dataClass: carried.dataClass,
    ...(spec.policy.dataCeiling ? { dataCeiling: spec.policy.dataCeiling } : {}),
    policyHash: spec.policyHash,
  };
}

/** A tool step's activity input (a worker tool or a compute job), checked before it is scheduled. */
function toolStepInput(
  task: TaskContext,
  step: number,
  tool: ToolDescriptor,
  input: unknown,
  idempotencyKey: string,
  trace: ToolStepTrace,
): ToolStepInput {
  const stepInput = {
    taskId: task.spec.taskId,
    step,
    tool: tool.name,
    input,
    idempotencyKey,
    scope: scopeOf(task),
    trace,
  };
  task.checkStepInput(`${tool.name} at step ${step}`, stepInput);
  return stepInput;
}

/** A completed tool call's audit fields: where it ran, what it returned (digest and blobs), its data class. */
function toolCompletion(
  tool: ToolDescriptor,
  type: 'tool' | 'job',
  out: ToolStepOutput,
): Omit<AuditFields, 'data'> {
  const outputBlobs = blobHashes(out.output);
  return {
    action: { type, 'gen_ai.tool.name': tool.name, activity: 'runTool' },
    route: { taskQueue: workflowInfo().taskQueue, ...(out.worker ? { worker: out.worker } : {}) },
    dataRef: { classes: [tool.dataClass], ...(outputBlobs.length ? { outputBlobs } : {}) },
    outcome: { ok: true, resultDigest: resultDigest(out) },
  };
}

export type ActionOutcome = { output: unknown } | { denied: string } | { failed: string };

/** A plan cannot feed a denial or a failure back to anyone: it stops with the reason. */
export function planOutput(outcome: ActionOutcome): unknown {
  if ('denied' in outcome) throw new StopTask('denied', outcome.denied);
  if ('failed' in outcome) throw new StopTask('tool_failure', outcome.failed);
  return outcome.output;
}

/**
 * Runs one proposed action through policy, approval and execution. Denials and tool failures come
 * back as values: the free loop feeds them to the model, a plan stops on them.
 */
export async function act(
  task: TaskContext,
  action: { tool: string; input: unknown; callId?: string },
  source: 'plan' | 'model',
): Promise<ActionOutcome> {
  const { carried, spec } = task;
  const verdict = evaluateAction(spec.policy, action.tool, spec.agent.tools, carried, {
    agent: spec.agent.name,
    principal: spec.principal,
    input: action.input,
  });
  // An approval binds the tool's definition, the arguments and the policy.
  const granted = spec.agent.tools.find((t) => t.name === action.tool);
  const binding = {
    definitionHash: granted ? definitionHashOf(granted) : '',
    policyHash: spec.policyHash,
  };
  const digest = boundDigestOf(action, binding);
  task.audit(
    'policy.decided',
    { tool: action.tool, digest, source, ...verdict },
    {
      actor: { agent: spec.agent.name, principal: spec.principal },
      action: {
        type: granted?.placement === 'compute' ? 'job' : 'tool',
        'gen_ai.tool.name': action.tool,
        ...(action.callId ? { 'gen_ai.tool.call.id': action.callId } : {}),
        argsDigest: digest,
      },
      decision: {
        effect: verdict.decision,
        ruleIds: verdict.ruleIds,
        policyHash: spec.policyHash,
      },
    },
  );
  if (verdict.decision === 'deny') {
    carried.denials++;
    if (carried.denials > spec.limits.maxDenials) {
      throw new StopTask('denied', `${carried.denials} actions denied; last: ${verdict.reason}`);
    }
    return { denied: verdict.reason };
  }
  // what the call's trace span says about why it runs
  const trace: ToolStepTrace = {
    ...(action.callId ? { callId: action.callId } : {}),
    decision: verdict.decision,
    ruleIds: verdict.ruleIds,
  };
  // an approver may have edited the arguments the rule makes editable: the tool runs with those
  let input = action.input;
  if (verdict.decision === 'approve') {
    const approved = await awaitApproval(task, action, digest, verdict.ruleIds, {
      approval: verdict.approval,
      binding,
    });
    input = approved.input;
    trace.approval = approved.approval;
  }
  const tool = spec.agent.tools.find((t) => t.name === action.tool)!;
  // One key per action, whatever node or attempt runs it, so a fallback never repeats an effect.
  const idempotencyKey = `${workflowInfo().workflowId}:${carried.step + 1}`;
  const out =
    tool.placement === 'compute'
      ? await runCompute(task, tool, input, idempotencyKey, trace)
      : await runWorkerTool(task, tool, input, idempotencyKey, trace);
  if ('failed' in out) return out;
  carried.dataClass = stricterDataClass(carried.dataClass, tool.dataClass);
  return { output: out.output };
}

async function runWorkerTool(
  task: TaskContext,
  tool: ToolDescriptor,
  input: unknown,
  idempotencyKey: string,
  trace: ToolStepTrace,
): Promise<ToolStepOutput | { failed: string }> {
  const step = task.beginStep(`tool: ${tool.name}`);
  const stepInput = toolStepInput(task, step, tool, input, idempotencyKey, trace);
  const summary = `tool: ${tool.name}, step ${step}`;
  // a short read declared local runs inside this workflow task (lean runs only); all else is an activity
  const local = tool.local && tool.effect === 'read' ? tool.local : undefined;
  let out: ToolStepOutput;
  try {
    out = await task.inStepScope(
      () =>
        local
          ? task.local(() =>
              runToolLocally.executeWithOptions(
                { startToCloseTimeout: local.timeoutSeconds * 1000, ...task.deadlineBound(), summary },
                [stepInput],
              ),
            )
          : runTool.executeWithOptions({ ...TOOL_OPTIONS, ...task.deadlineBound(), summary }, [stepInput]),
      !!local,
    );
  } catch (err) {
    task.stepFailed(err, undefined, { type: 'tool', name: 'runTool' });
    return { failed: `${tool.name} failed: ${task.lastError}` };
  }
  task.audit(
    'tool.completed',
    { tool: tool.name, outputDigest: out.outputDigest, bytes: out.bytes },
    toolCompletion(tool, 'tool', out),
  );
  return out;
}

/** A compute job goes to the best node allowed for the task's data; a node that fails hands it on. */
async function runCompute(
  task: TaskContext,
  tool: ToolDescriptor,
  input: unknown,
  idempotencyKey: string,
  trace: ToolStepTrace,
): Promise<ToolStepOutput | { failed: string }> {
  const { carried, spec } = task;
  const { dataClass, health } = carried;
  const nodes = chooseComputeNodes(spec.computeNodes, dataClass, spec.policy, spec.preference, health);
  if (nodes.length === 0) throw new StopTask('no_route', `no compute node may see ${dataClass} data`);
  const outcome = await task.tryEach(nodes, { type: 'job', name: 'runTool' }, async (node) => {
    const priceUsd = node.pricePerJobUsd ?? 0;
    if (carried.spendUsd + priceUsd > spec.limits.budgetUsd) return { skip: true };
    // a paid job counts against the shared daily caps too
    const hold = priceUsd > 0 ? await reserveShared(task, node.id, priceUsd, 0) : undefined;
    if (hold && 'denied' in hold) {
      task.audit('budget.denied', { node: node.id, reason: hold.denied });
      return { skip: true };
    }
    return {
      run: async () => {
        const step = task.beginStep(`compute: ${tool.name} on ${node.id}`);
        const stepInput = toolStepInput(task, step, tool, input, idempotencyKey, {
          ...trace,
          ...(priceUsd > 0 ? { costUsd: priceUsd } : {}),
        });
        const out = await task.inStepScope(() =>
          runTool.executeWithOptions(
            {
              ...TOOL_OPTIONS,
              ...task.deadlineBound(),
              taskQueue: node.taskQueue,
              scheduleToStartTimeout: (node.pickupTimeoutSeconds ?? DEFAULT_PICKUP_TIMEOUT_SECONDS) * 1000,
              summary: `compute: ${tool.name} on node ${node.id}, step ${step}`,
            },
            [stepInput],
          ),
        );
        carried.spendUsd = roundUsd(carried.spendUsd + priceUsd);
        hold?.settle(priceUsd, 0);
        carried.health[node.id] = { consecutiveFailures: 0 };
        task.audit(
          'tool.completed',
          {
            tool: tool.name,
            node: node.id,
            outputDigest: out.outputDigest,
            bytes: out.bytes,
            costUsd: priceUsd,
          },
          {
            ...toolCompletion(tool, 'job', out),
            route: {
              node: node.id,
              taskQueue: node.taskQueue,
              ...(out.worker ? { worker: out.worker } : {}),
            },
            cost: { usd: priceUsd, basis: 'billed' },
          },
        );
        if (priceUsd > 0) task.updateSearchAttributes();
        return out;
      },
      onFailure: () => hold?.settle(0, 0), // a job that did not complete is not billed
    };
  });
  if ('ok' in outcome) return outcome.ok;
  if (!outcome.affordable)
    throw new StopTask('budget_exhausted', `no compute node for ${tool.name} fits in the budget`);
  return { failed: `every compute node failed ${tool.name}; last error: ${task.lastError}` };
}
