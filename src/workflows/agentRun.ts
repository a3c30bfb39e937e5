import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ResolvedTask } from '../activities';
import { renderPrompt, renderValue, TemplateError } from '../agents/template';
import { MAX_NESTING, nestsDeeperThan } from '../shared/depth';
import { FINISH_TOOL, type ContentParts } from '../shared/types';
import { cancelToSign, checkSignature } from '../audit/signing';
import { approvalOutcome } from '../policies/approval';
import { act, planOutput } from './action';
import { acceptableDecision, recordDecision } from './approvalStep';
import { StopTask } from './failures';
import {
  approvalSignal,
  approveUpdate,
  auditQuery,
  auditRunQuery,
  cancelInputSchema,
  cancelSignal,
  type CancelInput,
  decisionInputSchema,
  parseMessage,
  stateQuery,
} from './messages';
import { askModel, proposeAction } from './modelStep';
import { checkCarried, resolveTask, signCarried } from './options';
import { refuseTask } from './refusal';
import { StewardAgent, StewardPrincipal } from './searchAttributes';
import { TaskContext } from './taskContext';
import type {
  ContinuedTask,
  StopReason,
  TaskRequest,
  TaskResult,
  TaskSpec,
  TranscriptMessage,
} from './contract';

/**
 * An agent task. A caller sends a `TaskRequest` (agent name, input, principal, optional narrowing);
 * the worker resolves everything else from its own configuration. Only this task's own
 * continue-as-new hands a resolved spec and its state to the next run, signed by a worker for the run
 * it continued from; a cron run, a workflow retry or a raw start that carries state is refused.
 */
export async function agentRun(start: TaskRequest | ContinuedTask): Promise<TaskResult> {
  const before = Date.now();
  const resolved = await resolveStart(start);
  const afterLocal = { before, seen: Date.now() }; // see TaskContext.afterLocal
  if ('refused' in resolved) return refuseTask(start, resolved.refused);
  return new AgentTask(resolved.spec, afterLocal).run();
}

async function resolveStart(start: unknown): Promise<ResolvedTask> {
  const info = workflowInfo();
  // Steward never schedules its tasks by cron nor retries them as workflows: those doors start runs
  // whose input someone else chose, with the look of a continuation.
  if (info.cronSchedule) return { refused: 'a task may not run on a cron schedule; start each task anew' };
  if (info.attempt > 1) return { refused: 'a task is not retried as a workflow; start a new task' };
  // checked before the input goes anywhere: a value too deep to encode would wedge the workflow task
  if (nestsDeeperThan(start, MAX_NESTING + 4))
    return { refused: `the start request nests deeper than ${MAX_NESTING} levels` };
  if (start && typeof start === 'object' && 'carried' in start) {
    const { carrySignature, ...carried } = start as ContinuedTask;
    const check = await checkCarried({
      taskId: info.workflowId,
      continuedFrom: info.continuedFromExecutionRunId,
      carried,
      signature: carrySignature,
    });
    if (check.refused) return { refused: `the start request carries state: ${check.refused}` };
    return { spec: carried };
  }
  return resolveTask({ taskId: info.workflowId, request: start });
}

/** Why a cancel cannot be taken (it must be signed by a trusted key); null when it can. */
function unsignedCancel(task: TaskContext, input: CancelInput): string | null {
  const { trustedKeys, taskId } = task.spec;
  if (!input.identity) return 'a cancel names who asks for it (identity) and is signed';
  return checkSignature(
    trustedKeys,
    cancelToSign(taskId, workflowInfo().firstExecutionRunId, input.identity, input.reason),
    input.signature,
  );
}

/** The task's input as the model's first user message (an agent may take none). */
function userText(input: unknown): string {
  if (input === undefined) return '';
  return typeof input === 'string' ? input : JSON.stringify(input);
}

/** The loop: a fixed plan or the model's free choice, then finish or continue as new. */
class AgentTask {
  private readonly task: TaskContext;

  constructor(spec: TaskSpec, afterLocal: { before: number; seen: number }) {
    this.task = new TaskContext(spec, afterLocal);
    this.registerHandlers();
  }

  async run(): Promise<TaskResult> {
    const { task } = this;
    const { spec, carried } = task;
    if (!spec.carried) {
      task.audit(
        'task.started',
        {
          agent: spec.agent.name,
          principal: spec.principal,
          limits: spec.limits,
          models: spec.models.map((m) => m.id),
          policyHash: spec.policyHash,
          ...(spec.policySource ? { policySource: spec.policySource } : {}),
        },
        { actor: { agent: spec.agent.name, principal: spec.principal } },
      );
      // The caller's start attributes are labels it chose; these are what the worker resolved.
      task.setLabels([
        { key: StewardAgent, value: spec.agent.name },
        { key: StewardPrincipal, value: spec.principal },
      ]);
    }
    task.setStatus('running', spec.carried ? `continued (run ${carried.runs})` : 'started');
    try {
      task.result = spec.agent.plan ? await this.runPlan() : await this.runFreeLoop();
      return await this.end('completed', 'completed');
    } catch (err) {
      if (err instanceof StopTask) return this.end(err.reason, err.detail);
      if (isCancellation(err)) return this.end('cancelled', task.cancelDetail());
      if (err instanceof TemplateError) {
        throw ApplicationFailure.nonRetryable(
          `agent ${spec.agent.name} has a broken plan: ${err.message}`,
          'PlanInvalid',
        );
      }
      throw err;
    }
  }

  private async runPlan(): Promise<unknown> {
    const { task } = this;
    const { spec, carried } = task;
    const plan = spec.agent.plan!;
    const scope = (): Record<string, unknown> => ({ input: spec.input, steps: carried.stepResults });
    for (; carried.planIndex < plan.length; carried.planIndex++) {
      await this.maybeContinueAsNew();
      const planStep = plan[carried.planIndex]!;
      const results = carried.stepResults;
      switch (planStep.kind) {
        case 'tool': {
          const input = renderValue(planStep.input, scope());
          results[planStep.id] = {
            output: planOutput(await act(task, { tool: planStep.tool, input }, 'plan')),
          };
          break;
        }
        case 'draft': {
          const messages = this.prompt(renderPrompt(planStep.prompt, scope()));
          const out = await askModel(task, {
            messages,
            mode: 'text',
            tools: [],
            allowFinish: false,
            maxOutputTokens: planStep.maxOutputTokens,
          });
          results[planStep.id] = { text: out.text ?? '' };
          break;
        }
        case 'decide': {
          const tools = spec.agent.tools.filter((t) => planStep.tools.includes(t.name));
          const messages = this.prompt(renderPrompt(planStep.prompt, scope()));
          const action = await proposeAction(task, messages, tools, false);
          results[planStep.id] = { output: planOutput(await act(task, action, 'model')) };
          break;
        }
        case 'finish':
          return renderValue(planStep.result, scope());
      }
    }
    return undefined;
  }

  private async runFreeLoop(): Promise<unknown> {
    const { task } = this;
    const { spec, carried } = task;
    const transcript = carried.transcript;
    if (transcript.length === 0 && !carried.transcriptBase) {
      transcript.push(
        {
          role: 'system',
          content: [
            `${spec.agent.instructions}\nCall one tool per turn. When the task is done, call ${FINISH_TOOL} with the result.`,
          ],
        },
        { role: 'user', content: [userText(spec.input)] },
      );
    }
    for (;;) {
      await this.maybeContinueAsNew();
      const action = await proposeAction(task, transcript, spec.agent.tools, true);
      if (action.tool === FINISH_TOOL) return (action.input as { result: unknown }).result;
      transcript.push({
        role: 'assistant',
        content: [],
        toolCall: { id: action.callId, name: action.tool, arguments: JSON.stringify(action.input) },
      });
      const outcome = await act(task, action, 'model');
      const content: ContentParts =
        'denied' in outcome
          ? [`Denied by policy: ${outcome.denied}. Choose another action.`]
          : 'failed' in outcome
            ? [`The tool failed: ${outcome.failed}`]
            : [{ json: outcome.output }];
      transcript.push({ role: 'tool', toolCallId: action.callId, content });
    }
  }

  private prompt(user: ContentParts): TranscriptMessage[] {
    return [
      { role: 'system', content: [this.task.spec.agent.instructions] },
      { role: 'user', content: user },
    ];
  }

  private async maybeContinueAsNew(): Promise<void> {
    const { task } = this;
    const perRun = task.spec.limits.stepsPerRun;
    if (task.trail.full) await task.exportAudit('batch');
    if (task.stepsThisRun === 0) return;
    if (!workflowInfo().continueAsNewSuggested && !(perRun && task.stepsThisRun >= perRun)) return;
    if (task.cancelRequest) throw new StopTask('cancelled', task.cancelDetail());
    await condition(allHandlersFinished);
    await task.deliverSignals();
    task.audit('task.continued', { run: task.carried.runs + 1 });
    // only the head and what the store did not take travel to the next run
    await task.exportAudit(`continued as run ${task.carried.runs + 1}`);
    const next = { ...task.spec, carried: { ...task.carried, runs: task.carried.runs + 1 } };
    const carrySignature = await task.local(() =>
      signCarried({ taskId: task.spec.taskId, runId: workflowInfo().runId, next }),
    );
    await continueAsNew<typeof agentRun>({ ...next, carrySignature });
  }

  /**
   * Every message is parsed (types, lengths) before it touches state or the audit, and no handler
   * can throw into the workflow task: a refused message is answered (update) or audited (signal).
   */
  private registerHandlers(): void {
    const { task } = this;
    setHandler(stateQuery, () => task.state());
    // the entries still in the workflow; the rest are in the audit store (StewardClient.audit joins them)
    setHandler(auditQuery, () => task.trail.carried.pending);
    setHandler(auditRunQuery, () => task.trail.thisRun);
    setHandler(
      approveUpdate,
      (input) => {
        // the validator verified the signature (an Ed25519 check costs ms in a fresh workflow context);
        // an update in history passed it, so its replay need not verify again
        const decision = acceptableDecision(task, input, { verifySignature: false });
        if (typeof decision === 'string') throw ApplicationFailure.nonRetryable(decision, 'DecisionRefused');
        recordDecision(task, decision);
        return { approvalId: decision.approvalId, outcome: approvalOutcome(task.pendingApproval!) };
      },
      {
        validator: (input) => {
          const decision = acceptableDecision(task, input);
          if (typeof decision === 'string') throw new Error(decision);
        },
      },
    );
    setHandler(approvalSignal, (input) => {
      const decision = acceptableDecision(task, input);
      if (typeof decision === 'string') {
        const parsed = parseMessage(decisionInputSchema, input);
        task.audit('approval.refused', {
          identity: parsed.ok ? parsed.value.identity : null,
          approvalId: parsed.ok ? parsed.value.approvalId : null,
          problem: decision,
        });
        return;
      }
      recordDecision(task, decision);
    });
    setHandler(cancelSignal, (input) => {
      if (task.cancelRequest || task.status === 'completed' || task.status === 'stopped') return;
      const parsed = parseMessage(cancelInputSchema, input);
      const problem = parsed.ok ? unsignedCancel(task, parsed.value ?? {}) : parsed.problem;
      if (problem || !parsed.ok) {
        task.audit('task.cancel_refused', { problem });
        return;
      }
      const { identity, reason, signature } = parsed.value ?? {};
      task.cancelRequest = { identity, reason: reason ?? undefined };
      task.audit('task.cancel_requested', {
        identity: identity ?? null,
        reason: reason ?? null,
        ...(signature ? { signature } : {}),
      });
      task.stepScope?.cancel();
    });
  }

  /**
   * Delivers what the run still owes other workflows (ledger settlements), records the end, and writes
   * the trail out with its final head signed.
   */
  private async end(reason: StopReason, detail: string): Promise<TaskResult> {
    const { task } = this;
    await CancellationScope.nonCancellable(() => task.deliverSignals());
    const result = this.finish(reason, detail);
    if (!task.trail.exports) return result;
    await task.exportAudit(`task ${result.status}`, true);
    const { pending, signed } = task.trail.carried;
    return {
      ...result,
      ...(signed ? { auditSigned: signed } : {}),
      ...(pending.length ? { auditUnwritten: pending } : {}),
    };
  }

  private finish(reason: StopReason, detail: string): TaskResult {
    const { task } = this;
    task.pendingApproval = undefined;
    task.stopReason = reason;
    task.stopDetail = detail;
    const status = reason === 'completed' ? 'completed' : 'stopped';
    if (status === 'stopped') task.result = undefined; // a stopped task never reports a result
    task.audit(status === 'completed' ? 'task.completed' : 'task.stopped', {
      reason,
      detail,
      spendUsd: task.carried.spendUsd,
    });
    task.setStatus(status, reason === 'completed' ? 'completed' : `stopped: ${reason} (${detail})`);
    task.publish();
    const { head } = task.trail;
    return {
      taskId: task.spec.taskId,
      status,
      stopReason: reason,
      detail: reason === 'completed' ? undefined : detail,
      result: task.result,
      steps: task.carried.step,
      spendUsd: task.carried.spendUsd,
      auditHead: head.hash,
      auditEntries: head.seq,
    };
  }
}
