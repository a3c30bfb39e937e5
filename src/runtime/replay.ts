/**
 * Replaying workflow histories with the current workflow code (`steward replay`): histories from
 * files (the JSON that the Temporal UI and `temporal workflow show --output json` export), from a
 * task's runs on the server, or from a visibility query. Each history gets a report: ok, or where
 * (event id and type) and why replay diverged. A change to workflow code that fails here would break
 * the tasks whose histories these are; it needs `patched()` (README: "Replay and changing workflow
 * code safely").
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { Worker, type ReplayResult, type ReplayWorkerOptions, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { StewardError } from '../errors';
import { bundleStewardWorkflows } from './worker';

/** A history file cannot be read, is not JSON, or is not a Temporal history. */
export class HistoryUnreadable extends StewardError {}
/** The server has no workflow (or run) by that id. */
export class HistoryNotFound extends StewardError {}
/** The server refused the visibility query. */
export class BadReplayQuery extends StewardError {}
/** The replay worker itself could not run (a bundle that is not a workflow bundle, a broken runtime). */
export class ReplayWorkerFailed extends StewardError {}

/** One event of a history in its JSON form (as the Temporal UI and CLI export it). */
interface JsonEvent {
  eventId: string;
  eventType: string;
  [attributes: string]: unknown;
}
export interface JsonHistory {
  events: JsonEvent[];
}

/** A history to replay, and where it came from. */
export interface HistorySource {
  /** The file it was read from, or `server`. */
  origin: string;
  workflowId: string;
  runId?: string;
  history: JsonHistory;
}

export type ReplayStatus = 'ok' | 'nondeterminism' | 'failed';

export interface ReplayReport {
  origin: string;
  workflowId: string;
  runId: string;
  workflowType?: string;
  events: number;
  /** `nondeterminism`: the code no longer makes the commands the history records; `failed`: it threw. */
  status: ReplayStatus;
  /** The event where replay diverged (the first whose prefix of the history no longer replays). */
  event?: { id: number; type: string };
  /** The SDK's (Temporal core's) message, e.g. "[TMPRL1100] Nondeterminism error: Activity type of …". */
  message?: string;
}

// ---------------------------------------------------------------- reading histories

/** A history in its JSON form from parsed JSON, or a HistoryUnreadable naming `origin` and what is wrong. */
export function historyOf(json: unknown, origin: string): JsonHistory {
  const events = (json as { events?: unknown } | null)?.events;
  if (typeof json !== 'object' || json === null || !Array.isArray(events) || events.length === 0) {
    throw new HistoryUnreadable(`${origin} is not a Temporal workflow history: it has no "events" list`, {
      hint: 'export one with `temporal workflow show --workflow-id ID --output json` or from the Temporal UI',
    });
  }
  try {
    historyFromJSON(json); // the SDK's own reading: the shape it will replay
  } catch (err) {
    throw new HistoryUnreadable(
      `${origin} is not a Temporal workflow history: ${(err as Error).message.slice(0, 300)}`,
      { cause: err },
    );
  }
  const first = (events as JsonEvent[])[0];
  if (eventTypeName(first.eventType) !== 'WorkflowExecutionStarted') {
    throw new HistoryUnreadable(
      `${origin} does not start with WorkflowExecutionStarted (a history must be whole to replay)`,
    );
  }
  return json as JsonHistory;
}

/** The history in a JSON file, as exported by the Temporal UI or `temporal workflow show --output json`. */
export function readHistoryFile(path: string): HistorySource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (err as Error).message;
    throw new HistoryUnreadable(`cannot read history file ${path}: ${why}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new HistoryUnreadable(`${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const history = historyOf(json, path);
  const started = startedAttributes(history);
  return {
    origin: path,
    // histories carry their workflow id in the start event (older servers' do not: the file's name then)
    workflowId: stringField(started, 'workflowId') ?? basename(path).replace(/\.json$/, ''),
    runId: stringField(started, 'originalExecutionRunId'),
    history,
  };
}

/** A history fetched from the server, in the JSON form the files have. */
function jsonOf(history: History): JsonHistory {
  return JSON.parse(historyToJSON(history)) as JsonHistory;
}

/**
 * Every run of a task (a workflow id), oldest first: the latest run, then each run it continued from
 * (continue-as-new, retries), followed back through the start events. With `runId`, that run only.
 */
export async function taskHistories(
  client: Client,
  taskId: string,
  runId?: string,
): Promise<HistorySource[]> {
  let latest: string;
  try {
    latest = (await client.workflow.getHandle(taskId, runId).describe()).runId;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new HistoryNotFound(
        runId ? `task ${taskId} has no run ${runId}` : `no task ${taskId} on this server`,
        {
          cause: err,
          hint: 'check the id with `steward list` (a task whose history the server no longer keeps cannot be replayed from it: replay an exported file)',
        },
      );
    }
    throw err;
  }
  const runs: HistorySource[] = [];
  for (let run: string | undefined = latest; run !== undefined && runs.length < 10_000;) {
    const history = jsonOf(await client.workflow.getHandle(taskId, run).fetchHistory());
    runs.unshift({ origin: 'server', workflowId: taskId, runId: run, history });
    run = runId ? undefined : stringField(startedAttributes(history), 'continuedExecutionRunId');
  }
  return runs;
}

/** The histories of the workflows a visibility query matches, newest first, at most `limit`. */
export async function* queryHistories(
  client: Client,
  query: string,
  limit: number,
): AsyncGenerator<HistorySource> {
  let count = 0;
  if (limit <= 0) return;
  try {
    for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      const history = jsonOf(await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
      yield { origin: 'server', workflowId: wf.workflowId, runId: wf.runId, history };
      if (++count >= limit) return;
    }
  } catch (err) {
    // the server's answer to a query it cannot parse: gRPC's INVALID_ARGUMENT, with its reason
    const said = err instanceof Error ? `${err.message} ${(err.cause as Error | undefined)?.message}` : '';
    const invalid = /\bINVALID_ARGUMENT: (.*)$/s.exec(said)?.[1];
    if (count === 0 && invalid) {
      throw new BadReplayQuery(`the server refused the query ${JSON.stringify(query)}: ${invalid}`, {
        cause: err,
        hint: `a visibility query, e.g. "WorkflowType='agentRun' AND StartTime > '2026-01-01T00:00:00Z'"`,
      });
    }
    throw err;
  }
}

// ---------------------------------------------------------------- replaying

/** The workflow code as the worker runs it: `src/workflows` (or `dist/workflows`), bundled the same way. */
export async function bundleCurrentWorkflows(): Promise<WorkflowBundle> {
  const quiet = () => undefined;
  return bundleStewardWorkflows({
    logger: { trace: quiet, debug: quiet, info: quiet, log: quiet, warn: quiet, error: console.error },
  });
}

export interface ReplayOptions {
  /** The workflow code to replay with; default: the current code, bundled as the worker bundles it. */
  workflowBundle?: WorkflowBundle;
  /** Find the event where each failure happened (a few short replays per failure); default true. */
  locate?: boolean;
}

/**
 * Replays each history with the workflow code, one after another on one replay worker, and yields
 * a report per history as it is done.
 */
export async function* replayHistories(
  sources: Iterable<HistorySource> | AsyncIterable<HistorySource>,
  options: ReplayOptions = {},
): AsyncGenerator<ReplayReport> {
  let session: ReplaySession | undefined;
  try {
    for await (const source of sources) {
      session ??= new ReplaySession({
        workflowBundle: options.workflowBundle ?? (await bundleCurrentWorkflows()),
        replayName: 'steward-replay',
      });
      let report: ReplayReport;
      try {
        report = await replayOne(session, source, options.locate ?? true);
      } catch (err) {
        throw new ReplayWorkerFailed(`the replay worker failed: ${(err as Error).message}`, {
          cause: err,
          hint: options.workflowBundle
            ? 'is the bundle the code that bundleWorkflowCode made from the workflows?'
            : undefined,
        });
      }
      yield report;
    }
  } finally {
    await session?.close();
  }
}

async function replayOne(
  session: ReplaySession,
  source: HistorySource,
  locate: boolean,
): Promise<ReplayReport> {
  const { history, workflowId } = source;
  const result = await session.replay(workflowId, history);
  const report: ReplayReport = {
    origin: source.origin,
    workflowId,
    runId: result.runId || source.runId || '',
    workflowType: workflowTypeOf(history),
    events: history.events.length,
    status: 'ok',
  };
  if (!result.error) return report;
  report.status = result.error instanceof DeterminismViolationError ? 'nondeterminism' : 'failed';
  report.message = sdkMessage(result.error.message);
  const named = /HistoryEvent\(id: (\d+)/.exec(report.message)?.[1];
  const index = named
    ? history.events.findIndex((e) => Number(e.eventId) === Number(named))
    : locate
      ? await firstFailingEvent(session, workflowId, history)
      : -1;
  if (index >= 0) {
    const event = history.events[index];
    report.event = { id: Number(event.eventId), type: eventTypeName(event.eventType) };
  }
  return report;
}

/**
 * The index of the first event at which replay fails: the shortest prefix of the history that no
 * longer replays ends there. First the workflow task (prefixes that end at a WorkflowTaskStarted, the
 * shape of any running workflow's history, searched by halves), then event by event within it.
 * A prefix that ends at a WorkflowTaskCompleted is never tried: there the recorded task looks
 * finished without the commands it made (a `patched()` marker among them), which is not a history
 * that ever existed.
 */
async function firstFailingEvent(
  session: ReplaySession,
  workflowId: string,
  history: JsonHistory,
): Promise<number> {
  const { events } = history;
  const fails = async (end: number): Promise<boolean> =>
    (await session.replay(workflowId, { events: events.slice(0, end + 1) })).error !== undefined;
  try {
    const taskStarts = events.flatMap((e, i) =>
      eventTypeName(e.eventType) === 'WorkflowTaskStarted' ? [i] : [],
    );
    if (taskStarts.length === 0) return -1;
    // taskStarts[hi] fails (or hi is past the end: the whole history, known to fail); taskStarts[lo] passes
    let lo = -1;
    let hi = taskStarts.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await fails(taskStarts[mid])) hi = mid;
      else lo = mid;
    }
    const from = lo < 0 ? taskStarts[0] : taskStarts[lo] + 1;
    const to = hi < taskStarts.length ? taskStarts[hi] : events.length - 1;
    if (lo < 0 && hi === 0) return taskStarts[0]; // the first workflow task already fails
    for (let i = from; i <= to; i++) {
      if (eventTypeName(events[i].eventType) === 'WorkflowTaskCompleted') continue;
      if (i === to || (await fails(i))) return i;
    }
    return to;
  } catch {
    return -1; // the search is a help, not the verdict: the report keeps the SDK's message
  }
}

/**
 * One replay worker fed histories one at a time: `Worker.runReplayHistories` pulls the next history
 * only after it has reported the last, so what to replay next can depend on the last result.
 */
class ReplaySession {
  private readonly queue: { history: HistorySourceItem; settle: Settle }[] = [];
  private current?: Settle;
  private wake?: () => void;
  private closing = false;
  private failure?: unknown;
  private readonly running: Promise<void>;

  constructor(options: ReplayWorkerOptions) {
    this.running = this.run(options);
  }

  replay(workflowId: string, history: JsonHistory): Promise<ReplayResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ history: { workflowId, history }, settle: { resolve, reject } });
      this.wake?.();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    await this.running;
  }

  private async *feed(): AsyncGenerator<HistorySourceItem> {
    for (;;) {
      while (this.queue.length === 0 && !this.closing) await new Promise<void>((r) => (this.wake = r));
      const next = this.queue.shift();
      if (!next) return;
      this.current = next.settle;
      yield next.history;
    }
  }

  private async run(options: ReplayWorkerOptions): Promise<void> {
    try {
      for await (const result of Worker.runReplayHistories(options, this.feed())) {
        const settle = this.current;
        this.current = undefined;
        settle?.resolve(result);
      }
    } catch (err) {
      this.failure = err;
      this.current?.reject(err);
      for (const { settle } of this.queue.splice(0)) settle.reject(err);
    }
  }
}

type HistorySourceItem = { workflowId: string; history: JsonHistory };
type Settle = { resolve(result: ReplayResult): void; reject(err: unknown): void };

// ---------------------------------------------------------------- reading events and messages

/** `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED` (or `ActivityTaskScheduled`, as older exports write it) → `ActivityTaskScheduled`. */
export function eventTypeName(type: string): string {
  if (!type.startsWith('EVENT_TYPE_')) return type;
  return type
    .slice('EVENT_TYPE_'.length)
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

/**
 * The part of the SDK's replay error a person reads: core's own message ("[TMPRL1100] Nondeterminism
 * error: Activity type of scheduled event 'a' does not match activity type of activity command 'b'"),
 * taken out of the Rust debug print the SDK wraps it in.
 */
export function sdkMessage(message: string): string {
  const inner = /Failure \{ message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  if (inner !== undefined) return inner.replace(/\\(["\\'])/g, '$1').replace(/\\n/g, '\n');
  return message.replace(/^.*?Details: /s, '');
}

function startedAttributes(history: JsonHistory): Record<string, unknown> {
  return (history.events[0]?.workflowExecutionStartedEventAttributes ?? {}) as Record<string, unknown>;
}

function workflowTypeOf(history: JsonHistory): string | undefined {
  const type = startedAttributes(history).workflowType as { name?: unknown } | undefined;
  return typeof type?.name === 'string' ? type.name : undefined;
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
