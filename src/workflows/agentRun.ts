import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ActivityCancellationType, type ActivityOptions, type RetryPolicy } from '@temporalio/common';
import type { ContentParts, ModelRoute, ToolDescriptor } from '../agents/types';
import { renderPrompt, renderValue, TemplateError } from '../agents/template';
import { appendAudit, GENESIS_HASH, type AuditEntry } from '../audit/chain';
import { boundedText, ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../errors';
import {
  actionDigest,
  approvalOutcome,
  checkDecision,
  type ApprovalDecisionInput,
  type ApprovalRequest,
} from '../policies/approval';
import {
  costOfUsage,
  FINISH_SCHEMA_BYTES,
  maxInputTokens,
  promptBytesBound,
  reserveModelCall,
  roundUsd,
} from '../policies/budget';
import { evaluateAction, stricterDataClass } from '../policies/evaluate';
import { chooseComputeNodes, chooseModelRoutes } from '../policies/routing';
import type { ResolvedTask, StewardActivities } from '../activities';
import type { ModelStepOutput, ToolStepOutput } from '../activities/types';
import { FINISH_TOOL } from '../activities/types';
import {
  approvalSignal,
  approveUpdate,
  auditQuery,
  cancelInputSchema,
  cancelSignal,
  decisionInputSchema,
  parseMessage,
  stateQuery,
} from './messages';
import {
  StewardAgent,
  StewardPrincipal,
  StewardSpendUsd,
  StewardStatus,
  StewardStep,
} from './searchAttributes';
import type {
  CarriedState,
  StopReason,
  TaskRequest,
  TaskResult,
  TaskSpec,
  TaskState,
  TaskStatus,
  TranscriptMessage,
} from './types';

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/** Model calls heartbeat from their first second, so a dead worker or a cancel is noticed quickly. */
const MODEL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '15s',
  retry: { ...retry, maximumAttempts: 4 },
};
/** A cancelled tool is waited for, so an effect it completes anyway is recorded, not lost. */
const TOOL_OPTIONS: ActivityOptions = {
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  startToCloseTimeout: '5m',
  heartbeatTimeout: '10s',
  retry: { ...retry, maximumAttempts: 5 },
};
/** Past this many bytes of inline messages, the free loop's transcript moves into the blob store. */
const TRANSCRIPT_INLINE_BYTES = 16 * 1024;
/** A compute node that does not pick a job up within this time is treated as down; the next is tried. */
const DEFAULT_PICKUP_TIMEOUT_SECONDS = 30;

/** Anything a step schedules is checked against this first: history must never carry a payload. */
const MAX_STEP_INPUT_BYTES = 256 * 1024;
/** The latest instant a JavaScript Date can hold; a deadline past it would break every date we print. */
const MAX_DATE_MS = 8.64e15;
/** Marks runs that started from a request resolved by the worker (not a caller-built spec). */
const WORKER_RESOLVES_TASK = 'worker-resolves-task';

// Every call passes its own options (MODEL_OPTIONS or TOOL_OPTIONS) with executeWithOptions.
const { callModel, runTool } = proxyActivities<StewardActivities>({ startToCloseTimeout: '10m' });
/** Resolving a request reads only the worker's registry and config: short, local, retried if it fails. */
const { resolveTask } = proxyLocalActivities<StewardActivities>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 5 },
});

/** Ends the task with a reason a person can act on; caught once, at the top of the workflow. */
class StopTask extends Error {
  constructor(
    readonly reason: StopReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

type StepResults = CarriedState['stepResults'];
type ActionOutcome = { output: unknown } | { denied: string } | { failed: string };

/** A plan cannot feed a denial or a failure back to anyone: it stops with the reason. */
function planOutput(outcome: ActionOutcome): unknown {
  if ('denied' in outcome) throw new StopTask('denied', outcome.denied);
  if ('failed' in outcome) throw new StopTask('tool_failure', outcome.failed);
  return outcome.output;
}

/**
 * An agent task. A caller sends a `TaskRequest` (agent name, input, principal, optional narrowing);
 * the worker resolves everything else from its own configuration. Histories from before that change
 * started with a whole spec; they replay as they ran.
 */
export async function agentRun(start: TaskRequest | TaskSpec): Promise<TaskResult> {
  if (!patched(WORKER_RESOLVES_TASK)) return new AgentTask(start as TaskSpec, false).run();
  const resolved = await resolveStart(start);
  if ('refused' in resolved) return refuseTask(start, resolved.refused);
  return new AgentTask(resolved.spec, true).run();
}

async function resolveStart(start: unknown): Promise<ResolvedTask> {
  const info = workflowInfo();
  if (start && typeof start === 'object' && 'carried' in start) {
    // Only this task's own continue-as-new hands a resolved spec and state to the next run.
    if (info.continuedFromExecutionRunId) return { spec: start as TaskSpec };
    return { refused: 'a start request may not carry state; name the agent, its input and the principal' };
  }
  return resolveTask({ taskId: info.workflowId, request: start });
}

/** A request the worker will not run ends at once, stopped with its reason, audited and queryable. */
function refuseTask(start: unknown, detail: string): TaskResult {
  const { workflowId: taskId, startTime } = workflowInfo();
  const label = (key: string): string => {
    const value = (start as Record<string, unknown> | null)?.[key];
    return typeof value === 'string' ? value.slice(0, 200) : '';
  };
  const entry = appendAudit(
    { seq: 0, hash: GENESIS_HASH },
    { kind: 'task.refused', at: new Date().toISOString(), step: 0, data: { detail } },
  );
  const state: TaskState = {
    taskId,
    agent: label('agent'),
    principal: label('principal'),
    status: 'stopped',
    step: 0,
    spendUsd: 0,
    budgetUsd: 0,
    dataClass: 'public',
    stopReason: 'refused',
    stopDetail: detail,
    startedAt: startTime.toISOString(),
    deadline: startTime.toISOString(),
    audit: { entries: entry.seq, head: entry.hash },
  };
  setHandler(stateQuery, () => state);
  setHandler(auditQuery, () => [entry]);
  upsertSearchAttributes([{ key: StewardStatus, value: 'stopped' }]);
  setCurrentDetails(`**stopped**: refused (${detail})`);
  log.warn('task refused', { detail });
  return {
    taskId,
    status: 'stopped',
    stopReason: 'refused',
    detail,
    steps: 0,
    spendUsd: 0,
    auditHead: entry.hash,
    auditEntries: entry.seq,
  };
}

class AgentTask {
  private readonly carried: CarriedState;
  private status: TaskStatus = 'running';
  private pendingApproval?: ApprovalRequest;
  private lastError?: string;
  private stopReason?: StopReason;
  private stopDetail?: string;
  private result?: unknown;
  private current?: string;
  private cancelRequest?: { reason?: string; identity?: string };
  private stepScope?: CancellationScope;
  private stepsThisRun = 0;
  private readonly deadlineMs: number;

  /**
   * @param hardened the task started from a worker-resolved request: it charges attempts that may
   * have been billed and publishes its agent and principal (older histories did neither).
   */
  constructor(
    private readonly spec: TaskSpec,
    private readonly hardened: boolean,
  ) {
    const now = new Date().toISOString();
    this.carried = spec.carried ?? {
      step: 0,
      spendUsd: 0,
      invalidOutputs: 0,
      denials: 0,
      dataClass: 'public',
      health: {},
      transcript: [],
      planIndex: 0,
      stepResults: {},
      audit: [],
      startedAt: now,
      runs: 1,
    };
    this.deadlineMs = Math.min(
      Date.parse(this.carried.startedAt) + spec.limits.deadlineSeconds * 1000,
      MAX_DATE_MS,
    );
    this.registerHandlers();
  }

  async run(): Promise<TaskResult> {
    if (!this.spec.carried) {
      this.audit('task.started', {
        agent: this.spec.agent.name,
        principal: this.spec.principal,
        limits: this.spec.limits,
        models: this.spec.models.map((m) => m.id),
        ...(this.spec.policyHash ? { policyHash: this.spec.policyHash } : {}),
      });
      if (this.hardened) {
        // The caller's start attributes are labels it chose; these are what the worker resolved.
        upsertSearchAttributes([
          { key: StewardAgent, value: this.spec.agent.name },
          { key: StewardPrincipal, value: this.spec.principal },
        ]);
      }
    }
    this.setStatus('running', this.spec.carried ? `continued (run ${this.carried.runs})` : 'started');
    try {
      this.result = this.spec.agent.plan ? await this.runPlan() : await this.runFreeLoop();
      return this.finish('completed', 'completed');
    } catch (err) {
      if (err instanceof StopTask) return this.finish(err.reason, err.detail);
      if (isCancellation(err)) return this.finish('cancelled', this.cancelDetail());
      if (err instanceof TemplateError) {
        throw ApplicationFailure.nonRetryable(
          `agent ${this.spec.agent.name} has a broken plan: ${err.message}`,
          'PlanInvalid',
        );
      }
      throw err;
    }
  }

  // ---- the two loops ----------------------------------------------------------------------------

  private async runPlan(): Promise<unknown> {
    const plan = this.spec.agent.plan!;
    const scope = (): Record<string, unknown> => ({
      input: this.spec.input,
      steps: this.carried.stepResults,
    });
    for (; this.carried.planIndex < plan.length; this.carried.planIndex++) {
      await this.maybeContinueAsNew();
      const planStep = plan[this.carried.planIndex]!;
      const results: StepResults = this.carried.stepResults;
      switch (planStep.kind) {
        case 'tool': {
          const input = renderValue(planStep.input, scope());
          results[planStep.id] = {
            output: planOutput(await this.act({ tool: planStep.tool, input }, 'plan')),
          };
          break;
        }
        case 'draft': {
          const messages = this.prompt(renderPrompt(planStep.prompt, scope()));
          const out = await this.askModel({
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
          const tools = this.spec.agent.tools.filter((t) => planStep.tools.includes(t.name));
          const messages = this.prompt(renderPrompt(planStep.prompt, scope()));
          const action = await this.proposeAction(messages, tools, false);
          results[planStep.id] = { output: planOutput(await this.act(action, 'model')) };
          break;
        }
        case 'finish':
          return renderValue(planStep.result, scope());
      }
    }
    return undefined;
  }

  private async runFreeLoop(): Promise<unknown> {
    const transcript = this.carried.transcript;
    if (transcript.length === 0 && !this.carried.transcriptBase) {
      transcript.push(
        {
          role: 'system',
          content: [
            `${this.spec.agent.instructions}\nCall one tool per turn. When the task is done, call ${FINISH_TOOL} with the result.`,
          ],
        },
        {
          role: 'user',
          content: [userText(this.spec.input)],
        },
      );
    }
    for (;;) {
      await this.maybeContinueAsNew();
      const action = await this.proposeAction(transcript, this.spec.agent.tools, true);
      if (action.tool === FINISH_TOOL) return (action.input as { result: unknown }).result;
      transcript.push({
        role: 'assistant',
        content: [],
        toolCall: { id: action.callId, name: action.tool, arguments: JSON.stringify(action.input) },
      });
      const outcome = await this.act(action, 'model');
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
      { role: 'system', content: [this.spec.agent.instructions] },
      { role: 'user', content: user },
    ];
  }

  // ---- model steps --------------------------------------------------------------------------------

  /**
   * Asks for an action until one validates; invalid output is fed back (appended to `conversation`)
   * a bounded number of times.
   */
  private async proposeAction(
    conversation: TranscriptMessage[],
    tools: ToolDescriptor[],
    allowFinish: boolean,
  ): Promise<{ callId: string; tool: string; input: unknown }> {
    const isTranscript = conversation === this.carried.transcript;
    for (;;) {
      const out = await this.askModel({
        messages: conversation,
        mode: 'action',
        tools,
        allowFinish,
        isTranscript,
      });
      if (out.action) {
        this.audit('action.proposed', { tool: out.action.tool, digest: digestOf(out.action) });
        return out.action;
      }
      const invalid = out.invalid ?? { raw: '', error: 'the model gave no action' };
      this.carried.invalidOutputs++;
      this.audit('action.invalid', { error: invalid.error, count: this.carried.invalidOutputs });
      if (this.carried.invalidOutputs > this.spec.limits.maxInvalidOutputs) {
        throw new StopTask(
          'invalid_output',
          `the model gave ${this.carried.invalidOutputs} invalid actions; last: ${invalid.error}`,
        );
      }
      const feedback = `Your last answer was not a valid action: ${invalid.error}. Answer with one valid tool call.`;
      conversation.push({ role: 'assistant', content: [invalid.raw] }, { role: 'user', content: [feedback] });
    }
  }

  /**
   * One model call with routing and budget: candidates allowed for the transcript's data class, best
   * first; each is reserved for its worst case before it starts and settled from real usage after.
   * The free loop's transcript (`isTranscript`) is sent as its blob-stored base plus the messages
   * since; when those grow large the activity stores them all and the base moves forward, so history
   * does not repeat the whole conversation at every step.
   */
  private async askModel(request: {
    messages: TranscriptMessage[];
    mode: 'action' | 'text';
    tools: ToolDescriptor[];
    allowFinish: boolean;
    maxOutputTokens?: number;
    isTranscript?: boolean;
  }): Promise<ModelStepOutput> {
    const { messages, mode, tools, allowFinish } = request;
    const stepMaxOutputTokens = request.maxOutputTokens ?? this.spec.limits.maxOutputTokens;
    const transcriptBase = request.isTranscript ? this.carried.transcriptBase : undefined;
    const { dataClass, health } = this.carried;
    const routes = chooseModelRoutes(
      this.spec.models,
      dataClass,
      this.spec.policy,
      this.spec.preference,
      health,
    );
    if (routes.length === 0) throw new StopTask('no_route', `no model may see ${dataClass} data`);
    const inputTokensBound = maxInputTokens(
      promptBytesBound({ transcriptBase, messages, tools }) + (allowFinish ? FINISH_SCHEMA_BYTES : 0),
      messages.length + tools.length + 1,
    );
    let affordable = false;
    for (const route of routes) {
      const remaining = this.spec.limits.budgetUsd - this.carried.spendUsd;
      const reservation = reserveModelCall(route.price, remaining, inputTokensBound, stepMaxOutputTokens);
      if (!reservation) continue;
      affordable = true;
      const step = this.beginStep(`model: ${route.model} via ${route.provider}`);
      const stepInput = {
        taskId: this.spec.taskId,
        step,
        route,
        transcriptBase,
        messages,
        mode,
        tools,
        allowFinish,
        maxOutputTokens: reservation.maxOutputTokens,
        compactAboveBytes: request.isTranscript ? TRANSCRIPT_INLINE_BYTES : undefined,
      };
      this.checkStepInput(`the model call of step ${step}`, stepInput);
      let out: ModelStepOutput;
      try {
        out = await this.inStepScope(() =>
          callModel.executeWithOptions(
            {
              ...MODEL_OPTIONS,
              ...this.deadlineBound(),
              summary: `model: ${route.model} via ${route.provider}, step ${step}`,
            },
            [stepInput],
          ),
        );
      } catch (err) {
        if (this.hardened && mayHaveBeenBilled(err)) this.chargeUnsettled(route.id, reservation.reservedUsd);
        this.stepFailed(err, route);
        continue;
      }
      this.settleModelCall(route, out, reservation.reservedUsd);
      if (request.isTranscript && out.transcriptBase) {
        this.carried.transcriptBase = out.transcriptBase;
        messages.splice(0); // now in the blob store, behind the new base
      }
      return out;
    }
    if (!affordable) {
      throw new StopTask(
        'budget_exhausted',
        `no model call fits in the $${this.spec.limits.budgetUsd} budget`,
      );
    }
    throw new StopTask('provider_failure', `every model route failed; last error: ${this.lastError}`);
  }

  /** Charges a call its real cost (its reservation when the endpoint reported no usage). */
  private settleModelCall(route: ModelRoute, out: ModelStepOutput, reservedUsd: number): void {
    const costUsd = roundUsd(out.usage ? costOfUsage(route.price, out.usage) : reservedUsd);
    this.carried.spendUsd = roundUsd(this.carried.spendUsd + costUsd);
    this.carried.health[route.id] = { consecutiveFailures: 0 };
    this.audit('model.called', {
      route: route.id,
      provider: out.provider,
      model: out.model,
      usage: out.usage,
      reservedUsd: roundUsd(reservedUsd),
      costUsd,
    });
    this.updateSearchAttributes();
    if (this.carried.spendUsd > this.spec.limits.budgetUsd) {
      // only a provider that bills past the token limit it was given can get here
      this.audit('budget.overrun', { route: route.id, costUsd, reservedUsd: roundUsd(reservedUsd) });
      throw new StopTask('budget_exhausted', `${route.id} billed $${costUsd}, over its reservation`);
    }
  }

  /**
   * A call that failed after the provider may have done the work (it answered, or ran out of time
   * while generating) is charged its reservation: spend is never under-counted.
   */
  private chargeUnsettled(routeId: string, reservedUsd: number): void {
    const costUsd = roundUsd(reservedUsd);
    this.carried.spendUsd = roundUsd(this.carried.spendUsd + costUsd);
    this.audit('model.charged_unsettled', { route: routeId, costUsd });
    this.updateSearchAttributes();
  }

  /** History never carries a payload: a step whose input is too large stops the task with the reason. */
  private checkStepInput(what: string, input: unknown): void {
    const bytes = new TextEncoder().encode(JSON.stringify(input) ?? '').length;
    if (bytes > MAX_STEP_INPUT_BYTES) {
      throw new StopTask(
        'invalid_output',
        `${what} would carry ${bytes} bytes, over the ${MAX_STEP_INPUT_BYTES} a step may put in history`,
      );
    }
  }

  // ---- actions: policy, approval, tools and compute ----------------------------------------------

  /**
   * Runs one proposed action through policy, approval and execution. Denials and tool failures come
   * back as values: the free loop feeds them to the model, a plan stops on them.
   */
  private async act(
    action: { tool: string; input: unknown; callId?: string },
    source: 'plan' | 'model',
  ): Promise<ActionOutcome> {
    const verdict = evaluateAction(this.spec.policy, action.tool, this.spec.agent.tools, this.carried);
    const digest = digestOf(action);
    this.audit('policy.decided', { tool: action.tool, digest, source, ...verdict });
    if (verdict.decision === 'deny') {
      this.carried.denials++;
      if (this.carried.denials > this.spec.limits.maxDenials) {
        throw new StopTask('denied', `${this.carried.denials} actions denied; last: ${verdict.reason}`);
      }
      return { denied: verdict.reason };
    }
    if (verdict.decision === 'approve') await this.awaitApproval(action, digest, verdict.ruleIds);
    const tool = this.spec.agent.tools.find((t) => t.name === action.tool)!;
    // One key per action, whatever node or attempt runs it, so a fallback never repeats an effect.
    const idempotencyKey = `${workflowInfo().workflowId}:${this.carried.step + 1}`;
    const out =
      tool.placement === 'compute'
        ? await this.runCompute(tool, action.input, idempotencyKey)
        : await this.runWorkerTool(tool, action.input, idempotencyKey);
    if ('failed' in out) return out;
    this.carried.dataClass = stricterDataClass(this.carried.dataClass, tool.dataClass);
    return { output: out.output };
  }

  private async runWorkerTool(
    tool: ToolDescriptor,
    input: unknown,
    idempotencyKey: string,
  ): Promise<ToolStepOutput | { failed: string }> {
    const step = this.beginStep(`tool: ${tool.name}`);
    const stepInput = { taskId: this.spec.taskId, step, tool: tool.name, input, idempotencyKey };
    this.checkStepInput(`${tool.name} at step ${step}`, stepInput);
    let out: ToolStepOutput;
    try {
      out = await this.inStepScope(() =>
        runTool.executeWithOptions(
          { ...TOOL_OPTIONS, ...this.deadlineBound(), summary: `tool: ${tool.name}, step ${step}` },
          [stepInput],
        ),
      );
    } catch (err) {
      this.stepFailed(err);
      return { failed: `${tool.name} failed: ${this.lastError}` };
    }
    this.audit('tool.completed', { tool: tool.name, outputDigest: out.outputDigest, bytes: out.bytes });
    return out;
  }

  private async runCompute(
    tool: ToolDescriptor,
    input: unknown,
    idempotencyKey: string,
  ): Promise<ToolStepOutput | { failed: string }> {
    const { dataClass, health } = this.carried;
    const nodes = chooseComputeNodes(
      this.spec.computeNodes,
      dataClass,
      this.spec.policy,
      this.spec.preference,
      health,
    );
    if (nodes.length === 0) throw new StopTask('no_route', `no compute node may see ${dataClass} data`);
    let affordable = false;
    for (const node of nodes) {
      const priceUsd = node.pricePerJobUsd ?? 0;
      if (this.carried.spendUsd + priceUsd > this.spec.limits.budgetUsd) continue;
      affordable = true;
      const step = this.beginStep(`compute: ${tool.name} on ${node.id}`);
      const stepInput = { taskId: this.spec.taskId, step, tool: tool.name, input, idempotencyKey };
      this.checkStepInput(`${tool.name} at step ${step}`, stepInput);
      let out: ToolStepOutput;
      try {
        out = await this.inStepScope(() =>
          runTool.executeWithOptions(
            {
              ...TOOL_OPTIONS,
              ...this.deadlineBound(),
              taskQueue: node.taskQueue,
              scheduleToStartTimeout: (node.pickupTimeoutSeconds ?? DEFAULT_PICKUP_TIMEOUT_SECONDS) * 1000,
              summary: `compute: ${tool.name} on node ${node.id}, step ${step}`,
            },
            [stepInput],
          ),
        );
      } catch (err) {
        this.stepFailed(err, node);
        continue;
      }
      this.carried.spendUsd = roundUsd(this.carried.spendUsd + priceUsd);
      this.carried.health[node.id] = { consecutiveFailures: 0 };
      this.audit('tool.completed', {
        tool: tool.name,
        node: node.id,
        outputDigest: out.outputDigest,
        bytes: out.bytes,
        costUsd: priceUsd,
      });
      if (priceUsd > 0) this.updateSearchAttributes();
      return out;
    }
    if (!affordable)
      throw new StopTask('budget_exhausted', `no compute node for ${tool.name} fits in the budget`);
    return { failed: `every compute node failed ${tool.name}; last error: ${this.lastError}` };
  }

  private async awaitApproval(
    action: { tool: string; input: unknown },
    digest: string,
    ruleIds: string[],
  ): Promise<void> {
    const policy = this.spec.policy.approval;
    const request: ApprovalRequest = {
      id: `approval-${this.carried.step + 1}`,
      step: this.carried.step + 1,
      digest,
      action: { tool: action.tool, input: action.input },
      approvers: [...policy.approvers],
      quorum: policy.quorum,
      requestedAt: new Date().toISOString(),
      deadline: this.deadlineIn(policy.timeoutSeconds),
      onExpiry: policy.onExpiry,
      escalated: false,
      decisions: [],
      ruleIds,
    };
    this.pendingApproval = request;
    this.audit('approval.requested', {
      id: request.id,
      digest,
      tool: action.tool,
      approvers: request.approvers,
      deadline: request.deadline,
    });
    this.setStatus('awaiting_approval', `waiting for approval of ${action.tool} (${request.id})`);
    for (;;) {
      const remaining = Date.parse(request.deadline) - Date.now();
      const decided = await condition(
        () => approvalOutcome(request) !== 'pending' || !!this.cancelRequest,
        Math.max(remaining, 1),
        { summary: `approval deadline of ${request.id} (${action.tool})` },
      );
      if (this.cancelRequest) throw new StopTask('cancelled', this.cancelDetail());
      if (decided) break;
      if (Date.now() >= this.deadlineMs)
        throw new StopTask('deadline', `task deadline passed while waiting for ${request.id}`);
      if (request.onExpiry === 'escalate' && !request.escalated && policy.escalateTo?.length) {
        request.escalated = true;
        request.approvers = [...policy.escalateTo];
        request.deadline = this.deadlineIn(policy.escalationTimeoutSeconds ?? policy.timeoutSeconds);
        this.audit('approval.escalated', {
          id: request.id,
          approvers: request.approvers,
          deadline: request.deadline,
        });
        continue;
      }
      this.audit('approval.expired', { id: request.id });
      throw new StopTask(
        'approval_expired',
        `${request.id} for ${action.tool} was not decided by ${request.deadline}`,
      );
    }
    this.pendingApproval = undefined;
    if (approvalOutcome(request) === 'rejected') {
      const rejection = request.decisions.find((d) => d.decision === 'reject')!;
      throw new StopTask(
        'approval_rejected',
        `${rejection.identity} rejected ${action.tool}: ${rejection.reason ?? 'no reason given'}`,
      );
    }
    this.setStatus('running', `approved ${action.tool}`);
  }

  private deadlineIn(seconds: number): string {
    return new Date(Math.min(Date.now() + seconds * 1000, this.deadlineMs)).toISOString();
  }

  private recordDecision(input: ApprovalDecisionInput): void {
    const request = this.pendingApproval!;
    request.decisions.push({ ...input, at: new Date().toISOString() });
    this.audit('approval.decided', {
      id: request.id,
      identity: input.identity,
      decision: input.decision,
      reason: input.reason ?? null,
      digest: input.digest,
    });
  }

  // ---- steps, limits and failures -----------------------------------------------------------------

  /** Checks the limits that must hold before any step starts, then counts the step. */
  private beginStep(what: string): number {
    if (this.cancelRequest) throw new StopTask('cancelled', this.cancelDetail());
    if (Date.now() >= this.deadlineMs) throw new StopTask('deadline', `deadline passed before ${what}`);
    if (this.carried.step >= this.spec.limits.maxSteps) {
      throw new StopTask('max_steps', `${this.spec.limits.maxSteps} steps used before ${what}`);
    }
    this.carried.step++;
    this.stepsThisRun++;
    this.current = what;
    this.updateSearchAttributes();
    setCurrentDetails(this.details(`step ${this.carried.step}: ${what}`));
    return this.carried.step;
  }

  /** Runs a step in its own scope, so a `cancel` signal can cancel the activity in flight. */
  private async inStepScope<T>(fn: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.stepScope = scope;
    try {
      return await scope.run(fn);
    } finally {
      this.stepScope = undefined;
      this.current = undefined;
    }
  }

  /** Every activity call ends by the task's deadline at the latest. */
  private deadlineBound(): Pick<ActivityOptions, 'scheduleToCloseTimeout'> {
    return { scheduleToCloseTimeout: Math.max(this.deadlineMs - Date.now(), 1) };
  }

  private stepFailed(err: unknown, route?: { id: string }): void {
    if (this.cancelRequest || isCancellation(err)) throw new StopTask('cancelled', this.cancelDetail());
    if (Date.now() >= this.deadlineMs)
      throw new StopTask('deadline', 'the task deadline passed during a step');
    const message = describeFailure(err);
    this.lastError = route ? `${route.id}: ${message}` : message;
    if (route) {
      const failures = (this.carried.health[route.id]?.consecutiveFailures ?? 0) + 1;
      this.carried.health[route.id] = { consecutiveFailures: failures };
    }
    this.audit('step.failed', { step: this.carried.step, route: route?.id ?? null, error: message });
    log.warn('step failed', { step: this.carried.step, route: route?.id, error: message });
  }

  private cancelDetail(): string {
    const by = this.cancelRequest?.identity ? ` by ${this.cancelRequest.identity}` : '';
    return `cancelled${by}${this.cancelRequest?.reason ? `: ${this.cancelRequest.reason}` : ''}`;
  }

  private async maybeContinueAsNew(): Promise<void> {
    const perRun = this.spec.limits.stepsPerRun;
    if (this.stepsThisRun === 0) return;
    if (!workflowInfo().continueAsNewSuggested && !(perRun && this.stepsThisRun >= perRun)) return;
    if (this.cancelRequest) throw new StopTask('cancelled', this.cancelDetail());
    await condition(allHandlersFinished);
    this.audit('task.continued', { run: this.carried.runs + 1 });
    await continueAsNew<typeof agentRun>({
      ...this.spec,
      carried: { ...this.carried, runs: this.carried.runs + 1 },
    });
  }

  // ---- what the outside sees ----------------------------------------------------------------------

  /**
   * Every message is parsed (types, lengths) before it touches state or the audit, and no handler
   * can throw into the workflow task: a refused message is answered (update) or audited (signal).
   */
  private registerHandlers(): void {
    setHandler(stateQuery, () => this.state());
    setHandler(auditQuery, () => this.carried.audit);
    setHandler(
      approveUpdate,
      (input) => {
        const decision = this.acceptableDecision(input);
        if (typeof decision === 'string') throw ApplicationFailure.nonRetryable(decision, 'DecisionRefused');
        this.recordDecision(decision);
        return { approvalId: decision.approvalId, outcome: approvalOutcome(this.pendingApproval!) };
      },
      {
        validator: (input) => {
          const decision = this.acceptableDecision(input);
          if (typeof decision === 'string') throw new Error(decision);
        },
      },
    );
    setHandler(approvalSignal, (input) => {
      const decision = this.acceptableDecision(input);
      if (typeof decision === 'string') {
        const parsed = parseMessage(decisionInputSchema, input);
        this.audit('approval.refused', {
          identity: parsed.ok ? parsed.value.identity : null,
          approvalId: parsed.ok ? parsed.value.approvalId : null,
          problem: decision,
        });
        return;
      }
      this.recordDecision(decision);
    });
    setHandler(cancelSignal, (input) => {
      if (this.cancelRequest || this.status === 'completed' || this.status === 'stopped') return;
      const parsed = parseMessage(cancelInputSchema, input);
      if (!parsed.ok) {
        this.audit('task.cancel_refused', { problem: parsed.problem });
        return;
      }
      const request = { identity: parsed.value?.identity, reason: parsed.value?.reason ?? undefined };
      this.cancelRequest = request;
      this.audit('task.cancel_requested', {
        identity: request.identity ?? null,
        reason: request.reason ?? null,
      });
      this.stepScope?.cancel();
    });
  }

  /** The decision, parsed and checked against the pending request, or why it cannot be taken. */
  private acceptableDecision(input: unknown): ApprovalDecisionInput | string {
    const parsed = parseMessage(decisionInputSchema, input);
    if (!parsed.ok) return `refused: ${parsed.problem}`;
    const decision: ApprovalDecisionInput = {
      ...parsed.value,
      reason: parsed.value.reason ?? undefined,
    };
    return checkDecision(this.pendingApproval, decision) ?? decision;
  }

  private state(): TaskState {
    const head = this.carried.audit.at(-1);
    return {
      taskId: this.spec.taskId,
      agent: this.spec.agent.name,
      principal: this.spec.principal,
      status: this.status,
      step: this.carried.step,
      spendUsd: this.carried.spendUsd,
      budgetUsd: this.spec.limits.budgetUsd,
      dataClass: this.carried.dataClass,
      pendingApproval: this.pendingApproval,
      lastError: this.lastError,
      stopReason: this.stopReason,
      stopDetail: this.stopDetail,
      result: this.result,
      current: this.current,
      startedAt: this.carried.startedAt,
      deadline: new Date(this.deadlineMs).toISOString(),
      audit: { entries: head?.seq ?? 0, head: head?.hash ?? GENESIS_HASH },
    };
  }

  private finish(reason: StopReason, detail: string): TaskResult {
    this.pendingApproval = undefined;
    this.stopReason = reason;
    this.stopDetail = detail;
    const status = reason === 'completed' ? 'completed' : 'stopped';
    if (status === 'stopped') this.result = undefined; // a stopped task never reports a result
    this.audit(status === 'completed' ? 'task.completed' : 'task.stopped', {
      reason,
      detail,
      spendUsd: this.carried.spendUsd,
    });
    this.setStatus(status, reason === 'completed' ? 'completed' : `stopped: ${reason} (${detail})`);
    const head = this.carried.audit.at(-1)!;
    return {
      taskId: this.spec.taskId,
      status,
      stopReason: reason,
      detail: reason === 'completed' ? undefined : detail,
      result: this.result,
      steps: this.carried.step,
      spendUsd: this.carried.spendUsd,
      auditHead: head.hash,
      auditEntries: head.seq,
    };
  }

  /** Appends to the chain; data that cannot be encoded is recorded as such, never thrown. */
  private audit(kind: string, data: Record<string, unknown>): AuditEntry {
    const last = this.carried.audit.at(-1);
    const prev = last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
    const at = new Date().toISOString();
    let entry: AuditEntry;
    try {
      entry = appendAudit(prev, { kind, at, step: this.carried.step, data });
    } catch (err) {
      const unrecordable = boundedText(err instanceof Error ? err.message : String(err), 300);
      entry = appendAudit(prev, { kind, at, step: this.carried.step, data: { unrecordable } });
    }
    this.carried.audit.push(entry);
    return entry;
  }

  private setStatus(status: TaskStatus, detail: string): void {
    this.status = status;
    this.updateSearchAttributes();
    setCurrentDetails(this.details(detail));
  }

  private updateSearchAttributes(): void {
    upsertSearchAttributes([
      { key: StewardStatus, value: this.status },
      { key: StewardStep, value: this.carried.step },
      { key: StewardSpendUsd, value: this.carried.spendUsd },
    ]);
  }

  private details(now: string): string {
    const spend = `$${this.carried.spendUsd.toFixed(6)} of $${this.spec.limits.budgetUsd}`;
    return `**${this.status}**: ${now}\n\nstep ${this.carried.step}/${this.spec.limits.maxSteps} · spend ${spend}`;
  }
}

/** A readable reason from an activity failure: the innermost message, with its type. */
function describeFailure(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  const text =
    cause instanceof ApplicationFailure
      ? `${cause.type ?? 'Error'}: ${cause.message}`
      : cause instanceof Error
        ? cause.message
        : String(cause);
  return boundedText(text);
}

/** The task's input as the model's first user message (an agent may take none). */
function userText(input: unknown): string {
  if (input === undefined) return '';
  return typeof input === 'string' ? input : JSON.stringify(input);
}

/** A failed model call may still have been billed when the provider answered or ran out of time. */
function mayHaveBeenBilled(err: unknown): boolean {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof TimeoutFailure) return true;
  return cause instanceof ApplicationFailure && cause.type === ErrorTypes.ProviderBadResponse;
}

/** The action's digest; an action too deep or large to encode stops the task instead of wedging it. */
function digestOf(action: { tool: string; input: unknown }): string {
  try {
    return actionDigest(action);
  } catch (err) {
    throw new StopTask('invalid_output', `the action on ${action.tool} cannot be recorded: ${String(err)}`);
  }
}
