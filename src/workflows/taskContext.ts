import {
  CancellationScope,
  isCancellation,
  log,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import { GENESIS, type AuditEntry, type AuditFields } from '../audit/chain';
import type { ApprovalRequest } from '../policies/approval';
import { describeFailure, failureType, StopTask } from './failures';
import { MAX_STEP_INPUT_BYTES } from './options';
import { Trail } from './trail';
import { StewardSpendUsd, StewardStatus, StewardStep } from './searchAttributes';
import type { CarriedState, StopReason, TaskSpec, TaskState, TaskStatus } from './contract';

/** The latest instant a JavaScript Date can hold; a deadline past it would break every date we print. */
const MAX_DATE_MS = 8.64e15;

/** Which activity a step ran, as the audit names it: the entry's action type and the activity type. */
export interface StepActivity {
  type: 'tool' | 'model' | 'job';
  name: 'callModel' | 'runTool' | 'reserveSpend';
}

/** A candidate for a step (a model route or a compute node) and what trying it needs. */
export type Attempt<R> =
  { skip: true } | { skip?: false; run: () => Promise<R>; onFailure?: (err: unknown) => void };

/**
 * What every part of a running task shares: its resolved spec, the state it carries across runs,
 * its status, the audit chain, and the step bookkeeping (limits, cancellation, failures). The loop
 * (agentRun.ts) and the step modules (model step, action, approval) all work on one of these.
 */
export class TaskContext {
  readonly carried: CarriedState;
  readonly deadlineMs: number;
  status: TaskStatus = 'running';
  pendingApproval?: ApprovalRequest;
  lastError?: string;
  stopReason?: StopReason;
  stopDetail?: string;
  result?: unknown;
  current?: string;
  cancelRequest?: { reason?: string; identity?: string };
  stepScope?: CancellationScope;
  stepsThisRun = 0;
  /** Signals to other workflows (ledger settlements) not yet delivered: awaited before the run ends. */
  readonly pendingSignals: Promise<unknown>[] = [];
  readonly trail: Trail;
  /** Search attributes changed since the last upsert: published once before the task waits. */
  private attributesDirty = false;
  private labels?: Parameters<typeof upsertSearchAttributes>[0];

  /**
   * The clock just after a local activity: the time before it, and the time the run saw on its
   * return. A query that reaches the task while a local activity runs splits the workflow task, and
   * the live run then sees the later task's time, which a replay (it resolves the activity's marker
   * in the earlier task) does not: until the next event, `now()` gives the time before the activity.
   */
  private afterLocal?: { before: number; seen: number };

  /**
   * @param afterLocal the clock around the local activity that resolved or checked this run's start.
   */
  constructor(
    readonly spec: TaskSpec,
    afterLocal?: { before: number; seen: number },
  ) {
    this.afterLocal = afterLocal;
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
      audit: { head: GENESIS, pending: [] },
      startedAt: new Date(this.now()).toISOString(),
      runs: 1,
    };
    this.trail = new Trail(spec.taskId, this.carried.audit, spec.auditExport);
    this.deadlineMs = Math.min(
      Date.parse(this.carried.startedAt) + spec.limits.deadlineSeconds * 1000,
      MAX_DATE_MS,
    );
  }

  // ---- steps ---------------------------------------------------------------------------------------

  /** Checks the limits that must hold before any step starts, then counts the step. */
  beginStep(what: string): number {
    if (this.cancelRequest) throw new StopTask('cancelled', this.cancelDetail());
    if (this.now() >= this.deadlineMs) throw new StopTask('deadline', `deadline passed before ${what}`);
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

  /**
   * Runs a step in its own scope, so a `cancel` signal can cancel the activity in flight. A step that
   * leaves the workflow task (all but a local one) first publishes the search attributes.
   */
  async inStepScope<T>(fn: () => Promise<T>, local = false): Promise<T> {
    if (!local) this.publish();
    const scope = new CancellationScope();
    this.stepScope = scope;
    try {
      return await scope.run(fn);
    } finally {
      this.stepScope = undefined;
      this.current = undefined;
    }
  }

  /**
   * Tries candidates in turn (model routes, compute nodes), best first: one the budget cannot
   * afford is skipped; one that fails is recorded against its health and the next is tried.
   */
  async tryEach<C extends { id: string }, R>(
    candidates: C[],
    activity: StepActivity,
    attempt: (candidate: C) => Attempt<R> | Promise<Attempt<R>>,
  ): Promise<{ ok: R } | { affordable: boolean }> {
    let affordable = false;
    for (const candidate of candidates) {
      const plan = await attempt(candidate);
      if (plan.skip) continue;
      affordable = true;
      try {
        return { ok: await plan.run() };
      } catch (err) {
        plan.onFailure?.(err);
        if (err instanceof StopTask) throw err;
        this.stepFailed(err, candidate, activity);
      }
    }
    return { affordable };
  }

  /** Every activity call ends by the task's deadline at the latest. */
  deadlineBound(): Pick<ActivityOptions, 'scheduleToCloseTimeout'> {
    return { scheduleToCloseTimeout: Math.max(this.deadlineMs - this.now(), 1) };
  }

  deadlineIn(seconds: number): string {
    return new Date(Math.min(this.now() + seconds * 1000, this.deadlineMs)).toISOString();
  }

  /** History never carries a payload: a step whose input is too large stops the task with the reason. */
  checkStepInput(what: string, input: unknown): void {
    const bytes = new TextEncoder().encode(JSON.stringify(input) ?? '').length;
    if (bytes > MAX_STEP_INPUT_BYTES) {
      throw new StopTask(
        'invalid_output',
        `${what} would carry ${bytes} bytes, over the ${MAX_STEP_INPUT_BYTES} a step may put in history`,
      );
    }
  }

  /**
   * Records a failed step (its activity named, so `steward audit verify` matches it with history),
   * then stops the task if it was cancelled or ran out of time, else leaves the next move to the caller.
   */
  stepFailed(err: unknown, route?: { id: string }, activity?: StepActivity): void {
    const cancelled = !!this.cancelRequest || isCancellation(err);
    const message = cancelled ? 'cancelled' : describeFailure(err);
    this.audit(
      cancelled ? 'step.cancelled' : 'step.failed',
      { step: this.carried.step, route: route?.id ?? null, error: message },
      {
        ...(activity ? { action: { type: activity.type, activity: activity.name } } : {}),
        ...(route ? { route: { id: route.id } } : {}),
        outcome: { ok: false, errorType: cancelled ? 'Cancelled' : failureType(err), message },
      },
    );
    if (cancelled) throw new StopTask('cancelled', this.cancelDetail());
    if (this.now() >= this.deadlineMs)
      throw new StopTask('deadline', 'the task deadline passed during a step');
    this.lastError = route ? `${route.id}: ${message}` : message;
    if (route) {
      const failures = (this.carried.health[route.id]?.consecutiveFailures ?? 0) + 1;
      this.carried.health[route.id] = { consecutiveFailures: failures };
    }
    log.warn('step failed', { step: this.carried.step, route: route?.id, error: message });
  }

  cancelDetail(): string {
    const by = this.cancelRequest?.identity ? ` by ${this.cancelRequest.identity}` : '';
    return `cancelled${by}${this.cancelRequest?.reason ? `: ${this.cancelRequest.reason}` : ''}`;
  }

  /** Waits until every signal this run sent has been delivered; call before the run ends. */
  async deliverSignals(): Promise<void> {
    while (this.pendingSignals.length) await Promise.all(this.pendingSignals.splice(0));
  }

  // ---- what the outside sees -------------------------------------------------------------------------

  /** Appends to the chain; data that cannot be encoded is recorded as such, never thrown. */
  audit(kind: string, data: Record<string, unknown>, fields: Omit<AuditFields, 'data'> = {}): AuditEntry {
    return this.trail.append(kind, new Date(this.now()).toISOString(), this.currentStep, {
      ...fields,
      data,
    });
  }

  /**
   * The step the task is on, as every display numbers it: while an approval is pending, the step it
   * gates (the one about to run), else the last one begun.
   */
  get currentStep(): number {
    return this.pendingApproval?.step ?? this.carried.step;
  }

  /** Workflow time, the same live and in replay (see `afterLocal`). */
  now(): number {
    const now = Date.now();
    return this.afterLocal && now === this.afterLocal.seen ? this.afterLocal.before : now;
  }

  /** Runs a local activity, noting the clock around it for `now()`. */
  async local<T>(run: () => Promise<T>): Promise<T> {
    const before = this.now();
    try {
      return await run();
    } finally {
      this.afterLocal = { before, seen: Date.now() };
    }
  }

  /** Writes the trail out of Temporal and has its head signed (see Trail.export). */
  exportAudit(reason: string, final = false): Promise<void> {
    return this.local(() =>
      this.trail.export(reason, (kind, fields) => this.audit(kind, fields.data ?? {}, fields), final),
    );
  }

  setStatus(status: TaskStatus, detail: string): void {
    this.status = status;
    this.updateSearchAttributes();
    setCurrentDetails(this.details(detail));
  }

  /** Status, step and spend for visibility, published at the next `publish()`. */
  updateSearchAttributes(): void {
    this.attributesDirty = true;
  }

  /** The agent and principal as the worker resolved them: published with the next update. */
  setLabels(labels: Parameters<typeof upsertSearchAttributes>[0]): void {
    this.labels = labels;
    this.attributesDirty = true;
  }

  /**
   * One upsert of what changed since the last: called before the task waits on anything but a local
   * step (an activity, an approval, a ledger's answer) and when it ends, so visibility (the UI,
   * `steward list`) shows the step and status of a task whenever it waits, and a run of local reads
   * in one workflow task costs one upsert, not one per step.
   */
  publish(): void {
    if (!this.attributesDirty) return;
    this.attributesDirty = false;
    const labels = Array.isArray(this.labels) ? this.labels : [];
    this.labels = undefined;
    upsertSearchAttributes([...labels, ...this.attributes()]);
  }

  private attributes() {
    return [
      { key: StewardStatus, value: this.status },
      { key: StewardStep, value: this.currentStep },
      { key: StewardSpendUsd, value: this.carried.spendUsd },
    ];
  }

  private details(now: string): string {
    // the Temporal UI renders details as Markdown with maths: a bare $ or a/b would not read as text
    const spend = `\\$${this.carried.spendUsd.toFixed(6)} of \\$${this.spec.limits.budgetUsd}`;
    return `**${this.status}**: ${now}\n\nstep ${this.currentStep} of ${this.spec.limits.maxSteps} · spend ${spend}`;
  }

  state(): TaskState {
    const { head } = this.trail;
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
      audit: { entries: head.seq, head: head.hash },
    };
  }
}
