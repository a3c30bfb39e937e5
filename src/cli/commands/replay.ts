import { existsSync, readFileSync, statSync } from 'node:fs';
import type { WorkflowBundle } from '@temporalio/worker';
import { getLogger } from '../../runtime/logger';
import {
  queryHistories,
  readHistoryFile,
  replayHistories,
  taskHistories,
  type HistorySource,
  type ReplayReport,
} from '../../runtime/replay';
import { installTemporalRuntime } from '../../runtime/temporalRuntime';
import { defineCommand, note, say, UsageError } from '../command';
import { connect, type Session } from '../session';

const DEFAULT_LIMIT = 100;

export const replay = defineCommand({
  name: 'replay',
  synopsis: '<taskId | history.json>... [--run RUNID] [--query QUERY [--limit N]] [--json]',
  summary: 'replay histories with the current workflow code; report each nondeterminism',
  details:
    'A task id replays every run of that task (continue-as-new included) from the connected server; a\n' +
    'file is a history as `temporal workflow show --output json` or the Temporal UI exports it; --query\n' +
    'replays the workflows a visibility query matches. Each history gets one line: ok, NONDETERMINISM\n' +
    '(the code no longer makes the commands the history records) or FAILED (it threw), with the event\n' +
    "where replay diverged and Temporal's message. Exits 1 when any history does not replay.",
  args: ['target'],
  variadic: true,
  options: {
    run: { type: 'string', value: 'RUNID', description: 'only this run of the (one) task given' },
    query: {
      type: 'string',
      value: 'QUERY',
      description: `the workflows a visibility query matches, e.g. "WorkflowType='agentRun' AND StartTime > '2026-11-01T00:00:00Z'"`,
    },
    limit: {
      type: 'string',
      value: 'N',
      description: `replay at most N of the workflows --query matches (default ${DEFAULT_LIMIT})`,
    },
    bundle: {
      type: 'string',
      value: 'FILE',
      description: 'replay with this workflow bundle (bundleWorkflowCode output) instead of the current code',
    },
    json: { type: 'boolean', description: 'print the reports as JSON' },
  },
  async run({ config, args, options }) {
    const files = args.filter(isHistoryFile);
    const taskIds = args.filter((a) => !isHistoryFile(a));
    if (args.length === 0 && options.query === undefined)
      throw new UsageError('replay needs a task id, a history file or --query');
    if (options.run !== undefined && taskIds.length !== 1)
      throw new UsageError('--run needs exactly one task id');
    if (options.limit !== undefined && options.query === undefined)
      throw new UsageError('--limit goes with --query');
    const limit = limitOption(options.limit);
    const workflowBundle = options.bundle === undefined ? undefined : readBundle(options.bundle);

    // everything a person can get wrong is checked before the (seconds long) bundling
    const sources: HistorySource[] = files.map(readHistoryFile);
    installTemporalRuntime(getLogger(), 'ERROR'); // core's warning per failed workflow task is the report's job
    const session = taskIds.length > 0 || options.query !== undefined ? await connect(config) : undefined;
    try {
      for (const taskId of taskIds)
        sources.push(...(await taskHistories(session!.client.client, taskId, options.run)));
      const reports: ReplayReport[] = [];
      for await (const report of replayHistories(allSources(sources, session, options.query, limit), {
        workflowBundle,
      })) {
        reports.push(report);
        if (!options.json) say(reportText(report));
      }
      if (options.json)
        say(JSON.stringify({ ok: reports.every((r) => r.status === 'ok'), reports }, null, 2));
      else if (reports.length > 0) say(summaryText(reports, options.bundle));
      if (reports.length === 0) note(`no workflow matches ${options.query}`);
      return reports.every((r) => r.status === 'ok') ? 0 : 1;
    } finally {
      await session?.close();
    }
  },
});

async function* allSources(
  sources: HistorySource[],
  session: Session | undefined,
  query: string | undefined,
  limit: number,
): AsyncGenerator<HistorySource> {
  yield* sources;
  if (query !== undefined) yield* queryHistories(session!.client.client, query, limit);
}

/** A file when it names one or looks like one (`….json`); a task id otherwise. */
function isHistoryFile(arg: string): boolean {
  return arg.endsWith('.json') || (existsSync(arg) && statSync(arg).isFile());
}

function limitOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--limit must be a positive whole number, got ${value}`);
  return n;
}

function readBundle(path: string): WorkflowBundle {
  try {
    return { code: readFileSync(path, 'utf8') };
  } catch (err) {
    throw new UsageError(`cannot read the workflow bundle ${path}: ${(err as Error).message}`);
  }
}

const STATUS_WORD = { ok: 'ok', nondeterminism: 'NONDETERMINISM', failed: 'FAILED' } as const;

/** One line per history, and for a failure where it happened and Temporal's message under it. */
export function reportText(report: ReplayReport): string {
  const where = report.event ? `  at event ${report.event.id} ${report.event.type}` : '';
  const origin = report.origin === 'server' ? '' : `  (${report.origin})`;
  const line = `${STATUS_WORD[report.status].padEnd(15)} ${report.workflowId}  run ${report.runId}${where}${origin}`;
  if (report.status === 'ok') return line;
  return [line, ...(report.message ?? '').split('\n').map((l) => `    ${l}`)].join('\n');
}

function summaryText(reports: ReplayReport[], bundle: string | undefined): string {
  const bad = reports.filter((r) => r.status !== 'ok').length;
  const code = bundle ? `the workflow bundle ${bundle}` : 'the current workflow code';
  const n = reports.length;
  return `${n} ${n === 1 ? 'history' : 'histories'} replayed with ${code}: ${n - bad} ok, ${bad} did not replay`;
}
