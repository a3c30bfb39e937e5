/**
 * A task's steps as a timeline, read from its audit trail: what each step was, where it ran, when it
 * started and ended, and what it cost. Pure: the review lane draws it, tests check it.
 */
import type { AuditEntry } from '../audit/chain';
import { stepOfEntry } from '../shared/steps';

export interface TimelineItem {
  seq: number;
  step: number;
  /** model, tool, compute, approval, failure */
  kind: 'model' | 'tool' | 'compute' | 'approval' | 'failure';
  label: string;
  /** The route, compute node, worker or person it ran at. */
  where: string;
  startAt: string;
  endAt: string;
  durationMs: number;
  costUsd: number;
}

export interface Timeline {
  items: TimelineItem[];
  startAt?: string;
  endAt?: string;
  totalMs: number;
  costUsd: number;
}

const text = (v: unknown, fallback = ''): string =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback;
const usd = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const ms = (iso: string): number => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : 0;
};

export function timelineOf(entries: AuditEntry[]): Timeline {
  const items: TimelineItem[] = [];
  const requested = new Map<string, string>();
  let previousAt: string | undefined;
  for (const entry of entries) {
    const d = entry.data ?? {};
    const startAt = previousAt ?? entry.at;
    const item = (
      kind: TimelineItem['kind'],
      label: string,
      where: string,
      costUsd: number,
      from = startAt,
    ) =>
      items.push({
        seq: entry.seq,
        step: stepOfEntry(entry), // an approval's item is on the step it gates
        kind,
        label,
        where,
        startAt: from,
        endAt: entry.at,
        durationMs: Math.max(0, ms(entry.at) - ms(from)),
        costUsd,
      });
    switch (entry.kind) {
      case 'model.called':
        item(
          'model',
          `model: ${text(d.model, '?')} via ${text(d.provider, '?')}`,
          text(d.route, '?'),
          usd(d.costUsd),
        );
        break;
      case 'tool.completed':
        if (d.node !== undefined)
          item('compute', `compute: ${text(d.tool, '?')}`, `node ${text(d.node)}`, usd(d.costUsd));
        else item('tool', `tool: ${text(d.tool, '?')}`, 'worker', usd(d.costUsd));
        break;
      case 'step.failed':
        item('failure', `failed: ${text(d.error).slice(0, 200)}`, text(d.route, 'worker'), 0);
        break;
      case 'approval.requested':
        requested.set(text(d.id), entry.at);
        break;
      case 'approval.decided':
        item(
          'approval',
          `${text(d.decision) === 'reject' ? 'rejected' : 'approved'} by ${text(d.identity, '?')}`,
          text(d.identity, '?'),
          0,
          requested.get(text(d.id)) ?? startAt,
        );
        break;
      case 'approval.expired':
        item('approval', `approval ${text(d.id)} expired`, 'nobody', 0, requested.get(text(d.id)) ?? startAt);
        break;
    }
    previousAt = entry.at;
  }
  const startAt = entries[0]?.at;
  const endAt = entries.at(-1)?.at;
  return {
    items,
    ...(startAt ? { startAt } : {}),
    ...(endAt ? { endAt } : {}),
    totalMs: startAt && endAt ? Math.max(0, ms(endAt) - ms(startAt)) : 0,
    costUsd: Math.round(items.reduce((sum, i) => sum + i.costUsd, 0) * 1e9) / 1e9,
  };
}
