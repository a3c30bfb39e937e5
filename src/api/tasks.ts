/**
 * What the front door reads about tasks: pages of tasks from Temporal's visibility store (filtered on
 * the Steward search attributes, paged with the server's next-page tokens), the approvals waiting for
 * a caller, and a task's state with blob-stored content resolved. Decisions go through StewardClient.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  QueryNotRegisteredError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import type { ApprovalRequest } from '../policies/approval';
import { TaskNotFound, type StewardClient } from '../runtime/client';
import type { BlobStore } from '../stores/blobStore';
import type { TaskState } from '../workflows/contract';
import {
  StewardAgent,
  StewardPrincipal,
  StewardSpendUsd,
  StewardStatus,
  StewardStep,
} from '../workflows/searchAttributes';
import type { Caller } from './auth';
import { ApiError } from './errors';

export interface TaskRow {
  taskId: string;
  runId: string;
  agent?: string;
  principal?: string;
  status: string;
  step?: number;
  spendUsd?: number;
  startTime: string;
  closeTime?: string;
  historyLength: number;
}

export interface PendingApproval {
  taskId: string;
  agent: string;
  principal: string;
  dataClass: string;
  spendUsd: number;
  budgetUsd: number;
  request: ApprovalRequest;
  mayApprove: boolean;
}

export interface TaskFilter {
  status?: 'running' | 'awaiting_approval' | 'completed' | 'stopped';
  agent?: string;
  principal?: string;
}

/** A value inside a visibility query; the schemas refuse quotes and backslashes before this. */
function quoted(value: string): string {
  if (/['"\\]/.test(value)) throw new ApiError('invalid_request', `${value} may not hold quotes`);
  return `'${value}'`;
}

const STATUS_CLAUSES: Record<NonNullable<TaskFilter['status']>, string> = {
  running: `ExecutionStatus = 'Running' AND StewardStatus = 'running'`,
  awaiting_approval: `ExecutionStatus = 'Running' AND StewardStatus = 'awaiting_approval'`,
  completed: `ExecutionStatus = 'Completed' AND StewardStatus = 'completed'`,
  stopped: `(StewardStatus = 'stopped' OR ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut', 'Canceled'))`,
};

/** Whether `caller` is among those who may decide `request` now. */
export function mayDecide(caller: Caller, request: ApprovalRequest): boolean {
  const roles = (request as ApprovalRequest & { roles?: unknown }).roles;
  const named =
    request.approvers.includes(caller.identity) ||
    (Array.isArray(roles) && roles.some((r) => caller.roles.includes(r as string)));
  if (!named) return false;
  return !request.decisions.some((d) => d.identity === caller.identity && d.digest === request.digest);
}

/** Whether `caller` may approve (not only reject): a principal may not approve its own task unless allowed. */
export function mayApprove(caller: Caller, request: ApprovalRequest): boolean {
  return !(request.allowSelfApproval === false && request.principal === caller.identity);
}

interface CachedState {
  runId: string;
  historyLength: number;
  at: number;
  state: TaskState;
}

export interface TaskDirectoryOptions {
  blobs?: BlobStore;
  /** How long a task's state read for the inbox is reused while its visibility record is unchanged. */
  stateCacheMs?: number;
  /** Most states cached (one per task waiting for an approval). */
  maxCached?: number;
  /** State queries in flight at once while building an inbox. */
  concurrency?: number;
}

export class TaskDirectory {
  private readonly cache = new Map<string, CachedState>();
  private readonly tokenKey = randomBytes(32);
  private readonly temporal: Client;
  private readonly namespace: string;

  constructor(
    readonly client: StewardClient,
    private readonly options: TaskDirectoryOptions = {},
  ) {
    this.temporal = client.client;
    this.namespace = client.client.options.namespace;
  }

  /**
   * A next-page token as handed out: Temporal's, sealed with a key of this process and bound to the
   * query it continues, so a forged or foreign token is refused here (Temporal retries on an
   * unreadable one for seconds) and a token cannot continue another filter.
   */
  private sealToken(raw: Uint8Array, query: string): string {
    const mac = createHmac('sha256', this.tokenKey).update(query).update(raw).digest().subarray(0, 16);
    return Buffer.concat([mac, Buffer.from(raw)]).toString('base64url');
  }

  private openToken(token: string, query: string): Buffer {
    const bytes = Buffer.from(token, 'base64url');
    const raw = bytes.subarray(16);
    const mac = createHmac('sha256', this.tokenKey).update(query).update(raw).digest().subarray(0, 16);
    if (bytes.length <= 16 || !timingSafeEqual(mac, bytes.subarray(0, 16)))
      throw new ApiError(
        'invalid_request',
        'query.pageToken: not a nextPageToken of this query from this server (tokens last while it runs)',
      );
    return raw;
  }

  private baseQuery(): string[] {
    return [
      `WorkflowType = 'agentRun'`,
      `ExecutionStatus != 'ContinuedAsNew'`,
      `TaskQueue = ${quoted(this.client.taskQueue)}`,
    ];
  }

  /** One page of the visibility store's answer to `query`, newest first. */
  private async page(
    query: string,
    pageSize: number,
    pageToken?: string,
  ): Promise<{ rows: TaskRow[]; nextPageToken?: string }> {
    const response: ListResponse = await this.temporal.workflowService.listWorkflowExecutions({
      namespace: this.namespace,
      query,
      pageSize,
      nextPageToken: pageToken ? this.openToken(pageToken, query) : undefined,
    });
    const rows = (response.executions ?? []).map(rowOf);
    const next = response.nextPageToken?.length ? this.sealToken(response.nextPageToken, query) : undefined;
    return { rows, ...(next ? { nextPageToken: next } : {}) };
  }

  async list(
    filter: TaskFilter,
    pageSize: number,
    pageToken?: string,
  ): Promise<{ tasks: TaskRow[]; nextPageToken?: string }> {
    const clauses = this.baseQuery();
    if (filter.status) clauses.push(STATUS_CLAUSES[filter.status]);
    if (filter.agent) clauses.push(`StewardAgent = ${quoted(filter.agent)}`);
    if (filter.principal) clauses.push(`StewardPrincipal = ${quoted(filter.principal)}`);
    const { rows, nextPageToken } = await this.page(clauses.join(' AND '), pageSize, pageToken);
    return { tasks: rows, ...(nextPageToken ? { nextPageToken } : {}) };
  }

  /**
   * The approvals `caller` may decide, from tasks waiting for one. Each page of waiting tasks is read
   * whole; reading stops once `pageSize` approvals are found or after a few pages, and the token says
   * where to go on.
   */
  async approvalsFor(
    caller: Caller,
    pageSize: number,
    pageToken?: string,
  ): Promise<{ approvals: PendingApproval[]; nextPageToken?: string }> {
    const query = [...this.baseQuery(), STATUS_CLAUSES.awaiting_approval].join(' AND ');
    const approvals: PendingApproval[] = [];
    let token = pageToken;
    for (let pages = 0; pages < 10; pages++) {
      const { rows, nextPageToken } = await this.page(query, pageSize, token);
      const states = await mapConcurrently(rows, this.options.concurrency ?? 16, (row) =>
        this.cachedState(row).catch(() => undefined),
      );
      for (const state of states) {
        const request = state?.pendingApproval;
        if (!state || !request || state.status !== 'awaiting_approval' || !mayDecide(caller, request))
          continue;
        approvals.push({
          taskId: state.taskId,
          agent: state.agent,
          principal: state.principal,
          dataClass: state.dataClass,
          spendUsd: state.spendUsd,
          budgetUsd: state.budgetUsd,
          request,
          mayApprove: mayApprove(caller, request),
        });
      }
      token = nextPageToken;
      if (!token || approvals.length >= pageSize) break;
    }
    return { approvals, ...(token ? { nextPageToken: token } : {}) };
  }

  /** The state of a task from an inbox row: reused while the task's visibility record is unchanged. */
  private async cachedState(row: TaskRow): Promise<TaskState> {
    const hit = this.cache.get(row.taskId);
    const ttl = this.options.stateCacheMs ?? 30_000;
    if (
      hit &&
      hit.runId === row.runId &&
      hit.historyLength === row.historyLength &&
      Date.now() - hit.at < ttl
    )
      return hit.state;
    const state = await this.state(row.taskId);
    this.cache.delete(row.taskId); // re-inserted last: the map's order is least recently used first
    this.cache.set(row.taskId, {
      runId: row.runId,
      historyLength: row.historyLength,
      at: Date.now(),
      state,
    });
    const max = this.options.maxCached ?? 20_000;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
    return state;
  }

  /** Forgets what was read about a task (after this server changed it). */
  forget(taskId: string): void {
    this.cache.delete(taskId);
  }

  /** The task's state, with the pending action's arguments and the result read from the blob store. */
  async state(taskId: string): Promise<TaskState> {
    const state = await taskCall(taskId, () => this.client.state(taskId), this.temporal);
    const blobs = this.options.blobs;
    if (!blobs) return state;
    const resolved: TaskState = { ...state };
    if (state.pendingApproval) {
      const input = await blobs.resolve(state.pendingApproval.action.input).catch(() => undefined);
      if (input !== undefined)
        resolved.pendingApproval = {
          ...state.pendingApproval,
          action: { ...state.pendingApproval.action, input },
        };
    }
    if (state.result !== undefined) {
      const result = await blobs.resolve(state.result).catch(() => undefined);
      if (result !== undefined) resolved.result = result;
    }
    return resolved;
  }
}

/**
 * Runs `call` about a task, turning "no such task" and "not a task" into a 404, and a task that ended
 * or refused into a 409. `temporal` lets a task that closed before any worker ran it (a query of it
 * fails with FAILED_PRECONDITION: it has no state) be answered from its close status.
 */
export async function taskCall<T>(taskId: string, call: () => Promise<T>, temporal?: Client): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (neverRan(err)) throw await closedUnrun(taskId, temporal);
    // an update or signal to a task that has ended is answered "not found" with this message
    if (err instanceof Error && /already completed|workflow execution.*(completed|closed)/i.test(err.message))
      throw new ApiError('conflict', `task ${taskId} has ended`);
    // StewardClient.decide reading the pending request of a task that has none (it ended, or was decided)
    if (err instanceof Error && /is not waiting for an approval/.test(err.message))
      throw new ApiError('conflict', `task ${taskId} is not waiting for an approval`);
    if (err instanceof TaskNotFound || err instanceof WorkflowNotFoundError)
      throw new ApiError('not_found', `no task ${taskId}`);
    if (err instanceof QueryNotRegisteredError) throw new ApiError('not_found', `${taskId} is not a task`);
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause instanceof Error ? err.cause.message : err.message;
      throw new ApiError('conflict', `refused: ${cause}`);
    }
    throw err;
  }
}

/** Temporal's answer to a query of a run that closed before its first workflow task started. */
function neverRan(err: unknown): boolean {
  for (let e = err, i = 0; e instanceof Error && i < 5; e = e.cause, i++)
    if (/closed before WorkflowTaskStarted/i.test(e.message)) return true;
  return false;
}

/** A 409 saying how the task closed (404 if Temporal no longer knows it). */
async function closedUnrun(taskId: string, temporal?: Client): Promise<ApiError> {
  const never = 'before any worker ran it, so it has no state or audit trail to read';
  if (!temporal) return new ApiError('conflict', `task ${taskId} closed ${never}`);
  try {
    const d = await temporal.workflow.getHandle(taskId).describe();
    const how = d.status.name.toLowerCase().replace('_', ' ');
    const when = d.closeTime ? ` at ${d.closeTime.toISOString()}` : '';
    return new ApiError('conflict', `task ${taskId} closed (${how})${when} ${never}`);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return new ApiError('not_found', `no task ${taskId}`);
    throw err;
  }
}

type ListResponse = Awaited<ReturnType<Client['workflowService']['listWorkflowExecutions']>>;

function rowOf(raw: ListResponse['executions'][number]): TaskRow {
  const attrs = decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields);
  // status codes: 1 running, 2 completed, 3 failed, 4 canceled, 5 terminated, 6 continued-as-new, 7 timed out
  const code = Number(raw.status ?? 0);
  const names: Record<number, string> = {
    1: 'running',
    2: 'completed',
    3: 'failed',
    4: 'canceled',
    5: 'terminated',
    6: 'continued_as_new',
    7: 'timed_out',
  };
  // A run that failed or was terminated never got to update its own status attribute.
  const status = ((code === 1 || code === 2) && attrs.get(StewardStatus)) || names[code] || 'unknown';
  return {
    taskId: raw.execution?.workflowId ?? '',
    runId: raw.execution?.runId ?? '',
    agent: attrs.get(StewardAgent),
    principal: attrs.get(StewardPrincipal),
    status,
    step: attrs.get(StewardStep),
    spendUsd: attrs.get(StewardSpendUsd),
    startTime: timestamp(raw.startTime) ?? '',
    ...(raw.closeTime ? { closeTime: timestamp(raw.closeTime) } : {}),
    historyLength: Number(raw.historyLength ?? 0),
  };
}

function timestamp(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined {
  if (!ts) return undefined;
  const ms = Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
  return new Date(ms).toISOString();
}

async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
