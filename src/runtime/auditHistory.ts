import { createHash } from 'node:crypto';
import type { AuditEntry } from '../audit/chain';
import { canonicalJson } from '../audit/canonicalJson';
import type { Client } from '@temporalio/client';
import { auditRunQuery } from '../workflows/messages';
import type { JsonHistory } from './replay';

/** One activity as the history records it: its type, how it ended, its result's digest, who ran it. */
export interface HistoryActivity {
  eventId: number;
  type: string;
  ok: boolean;
  resultDigest?: string;
  worker?: string;
}

type Attributes = Record<string, unknown>;
const attrs = (event: Attributes, key: string): Attributes => (event[key] ?? {}) as Attributes;

/** A JSON payload's value (`json/plain`, as Steward's activities return). */
function payloadValue(payload: Attributes | undefined): unknown {
  if (!payload) return undefined;
  const metadata = (payload.metadata ?? {}) as Record<string, string>;
  const encoding = metadata.encoding ? Buffer.from(metadata.encoding, 'base64').toString() : '';
  if (encoding === 'binary/null') return undefined;
  const data = typeof payload.data === 'string' ? Buffer.from(payload.data, 'base64').toString('utf8') : '';
  return JSON.parse(data);
}

function digestOf(value: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(value ?? null))
    .digest('hex');
}

/** The activities of a task's runs (tool steps run as local activities too), oldest first, each with how it ended. */
export function activitiesOf(runs: JsonHistory[]): HistoryActivity[] {
  const out: HistoryActivity[] = [];
  for (const { events } of runs) {
    const byScheduled = new Map<string, HistoryActivity>();
    for (const event of events as Attributes[]) {
      const id = Number(event.eventId);
      switch (event.eventType) {
        case 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED':
        case 'ActivityTaskScheduled': {
          const a = attrs(event, 'activityTaskScheduledEventAttributes');
          const activity: HistoryActivity = {
            eventId: id,
            type: String((a.activityType as Attributes)?.name),
            ok: false,
          };
          byScheduled.set(String(id), activity);
          out.push(activity);
          break;
        }
        case 'EVENT_TYPE_ACTIVITY_TASK_STARTED':
        case 'ActivityTaskStarted': {
          const a = attrs(event, 'activityTaskStartedEventAttributes');
          const activity = byScheduled.get(String(a.scheduledEventId));
          if (activity && typeof a.identity === 'string') activity.worker = a.identity;
          break;
        }
        case 'EVENT_TYPE_MARKER_RECORDED':
        case 'MarkerRecorded': {
          // a read declared local ran as a local activity: a marker, not activity events; the
          // task's other local activities (resolving it, exporting its audit) are not steps
          const a = attrs(event, 'markerRecordedEventAttributes');
          if (a.markerName !== 'core_local_activity') break;
          const details = (a.details ?? {}) as Record<string, Attributes | undefined>;
          const first = (field: string) => ((details[field]?.payloads ?? []) as Attributes[])[0];
          const data = payloadValue(first('data')) as { activity_type?: string } | undefined;
          if (data?.activity_type !== 'runTool') break;
          const ok = !a.failure;
          out.push({
            eventId: id,
            type: 'runTool',
            ok,
            ...(ok ? { resultDigest: digestOf(payloadValue(first('result'))) } : {}),
          });
          break;
        }
        case 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED':
        case 'ActivityTaskCompleted': {
          const a = attrs(event, 'activityTaskCompletedEventAttributes');
          const activity = byScheduled.get(String(a.scheduledEventId));
          if (!activity) break;
          activity.ok = true;
          const payloads = ((a.result as Attributes)?.payloads ?? []) as Attributes[];
          activity.resultDigest = digestOf(payloadValue(payloads[0]));
          break;
        }
      }
    }
  }
  return out;
}

export interface HistoryMatch {
  ok: boolean;
  activities: number;
  /** The first mismatch: the entry (seq) or history event, and why. */
  firstBad?: { seq?: number; eventId?: number; reason: string };
}

/**
 * Every activity in the history appears in the trail, in order, with the same type, outcome and
 * result digest (and the worker that ran it, where the entry names one), and vice versa. A tool step
 * run as a local activity counts by its marker; the task's other local activities (resolving it, the
 * audit export) are not steps, so they are in neither list.
 */
export function matchHistory(entries: AuditEntry[], runs: JsonHistory[]): HistoryMatch {
  const history = activitiesOf(runs);
  const trail = entries.filter((e) => e.action?.activity);
  const count = Math.max(history.length, trail.length);
  for (let i = 0; i < count; i++) {
    const h = history[i];
    const e = trail[i];
    if (!h)
      return {
        ok: false,
        activities: history.length,
        firstBad: {
          seq: e!.seq,
          reason: `the trail records a ${e!.action!.activity} the history does not have`,
        },
      };
    if (!e)
      return {
        ok: false,
        activities: history.length,
        firstBad: {
          eventId: h.eventId,
          reason: `the history's ${h.type} (event ${h.eventId}) is missing from the trail`,
        },
      };
    const fail = (reason: string): HistoryMatch => ({
      ok: false,
      activities: history.length,
      firstBad: { seq: e.seq, eventId: h.eventId, reason },
    });
    if (e.action!.activity !== h.type)
      return fail(`the trail says ${e.action!.activity}, the history ${h.type} (event ${h.eventId})`);
    const okInTrail = e.outcome?.ok === true;
    if (okInTrail !== h.ok)
      return fail(
        `the trail says the ${h.type} ${okInTrail ? 'succeeded' : 'failed'}, the history (event ${h.eventId}) that it ${h.ok ? 'succeeded' : 'did not'}`,
      );
    if (h.ok && e.outcome?.ok && e.outcome.resultDigest !== h.resultDigest)
      return fail(`the ${h.type}'s result digest differs from the history's (event ${h.eventId})`);
    if (e.route?.worker && h.worker && e.route.worker !== h.worker)
      return fail(`the trail says worker ${e.route.worker} ran it, the history ${h.worker}`);
  }
  return { ok: true, activities: history.length };
}

/**
 * The trail rebuilt from history: each run's entries as its workflow code appends them when it
 * replays the run (the `auditRun` query of a closed run is answered by replaying its history on a
 * worker of the task queue). Equal to the stored trail, entry for entry, unless one was changed.
 */
export async function rebuildFromHistory(
  client: Client,
  taskId: string,
  runIds: string[],
): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const runId of runIds)
    entries.push(...(await client.workflow.getHandle(taskId, runId).query(auditRunQuery)));
  return entries;
}
