import { existsSync, writeFileSync } from 'node:fs';
import type { AuditEntry } from '../../audit/chain';
import { signsReason, type SignedHead } from '../../audit/head';
import { verifyTrail, type AuditKey, type TrailVerdict } from '../../audit/verify';
import type { LoadedConfig } from '../../config/load';
import { matchHistory, rebuildFromHistory, type HistoryMatch } from '../../runtime/auditHistory';
import { exportTrail, keyArgument, lastHead, readTrailFile, type Trail } from '../../runtime/auditTrail';
import { auditKeys, auditStoreFor } from '../../runtime/localStack';
import { HistoryNotFound, taskHistories } from '../../runtime/replay';
import { nodeSha256Hex } from '../../runtime/sha256';
import { stepOfEntry } from '../../shared/steps';
import { defineCommand, note, say, UsageError } from '../command';
import { connect, type Session } from '../session';

/** The trail of a task: the audit store's part and, while the task is reachable, what it still holds. */
async function taskTrail(
  config: LoadedConfig,
  taskId: string,
): Promise<{ trail: Trail; session?: Session; running: boolean }> {
  const store = auditStoreFor(config);
  const session = await connect(config).catch(() => undefined);
  let trail = { entries: [] as AuditEntry[], heads: [] as SignedHead[] };
  let running = false;
  if (session) {
    try {
      trail = await session.client.trail(taskId);
      const state = await session.client.state(taskId);
      running = state.status === 'running' || state.status === 'awaiting_approval';
    } catch {
      // the history is gone (or the server does not know the task): the store's part is the trail
      if (trail.entries.length === 0 && store) trail = await store.read(taskId);
    }
  } else {
    note('no Temporal server answered: the trail is what the audit store holds');
    if (store) trail = await store.read(taskId);
  }
  if (trail.entries.length === 0)
    throw new UsageError(`no audit trail for task ${taskId}`, {
      hint: store
        ? `looked in ${store.where} and on the Temporal server`
        : 'stores.audit is none in this config',
    });
  return { trail: { taskId, ...trail }, session, running };
}

const short = (hash: string | undefined): string => (hash ? `${hash.slice(0, 12)}…` : '');
const usd = (n: number): string => `$${n.toFixed(6)}`;

/** One entry as a person reads it: who, what, where, cost, which rule, which approver. */
export function entryLine(e: AuditEntry): string {
  const d = e.data ?? {};
  const time = e.at.slice(11, 19);
  const parts: string[] = [];
  const tool = e.action?.['gen_ai.tool.name'] ?? (d.tool as string | undefined);
  switch (e.kind) {
    case 'task.started':
      parts.push(`${e.actor?.agent ?? d.agent} for ${e.actor?.principal ?? d.principal}`);
      if (d.policyHash) parts.push(`policy ${short(d.policyHash as string)}`);
      break;
    case 'policy.decided':
      parts.push(`${tool}: ${e.decision?.effect ?? d.decision}`);
      if (e.decision?.ruleIds.length) parts.push(`rule ${e.decision.ruleIds.join(', ')}`);
      if (d.reason) parts.push(String(d.reason));
      break;
    case 'approval.requested':
      parts.push(
        `${tool} asked of ${(d.approvers as string[] | undefined)?.join(', ')}`,
        `until ${d.deadline}`,
      );
      break;
    case 'approval.decided':
      parts.push(
        `${e.actor?.approver ?? d.identity} ${d.decision === 'approve' ? 'approved' : 'rejected'} ${tool ?? ''}`.trim(),
      );
      if (e.actor?.keyId) parts.push(`signed by key ${e.actor.keyId}`);
      if (d.reason) parts.push(`“${d.reason}”`);
      break;
    case 'model.called': {
      const r = e.route ?? {};
      parts.push(
        `${r['gen_ai.response.model'] ?? d.model} via ${r['gen_ai.provider.name'] ?? d.provider} (route ${r.id ?? d.route})`,
      );
      if (e.usage)
        parts.push(`${e.usage['gen_ai.usage.input_tokens']}→${e.usage['gen_ai.usage.output_tokens']} tokens`);
      if (e.cost) parts.push(`${usd(e.cost.usd)} ${e.cost.basis}`);
      if (r.worker) parts.push(`on ${r.worker}`);
      break;
    }
    case 'tool.completed':
      parts.push(`${tool}${e.route?.node ? ` on node ${e.route.node}` : ''}`);
      if (e.route?.worker) parts.push(`on ${e.route.worker}`);
      if (e.dataRef?.classes) parts.push(`data ${e.dataRef.classes.join(', ')}`);
      if (e.cost?.usd) parts.push(usd(e.cost.usd));
      parts.push(`result ${short(e.outcome?.ok ? e.outcome.resultDigest : undefined)}`);
      break;
    case 'step.failed':
    case 'step.cancelled':
      parts.push(`${e.action?.activity ?? 'step'}${e.route?.id ? ` on ${e.route.id}` : ''}`);
      if (e.outcome && !e.outcome.ok) parts.push(`${e.outcome.errorType}: ${e.outcome.message}`);
      break;
    case 'task.completed':
    case 'task.stopped':
      parts.push(
        `${d.reason}${d.reason === 'completed' ? '' : ` (${d.detail})`}`,
        `spent ${usd(Number(d.spendUsd ?? 0))}`,
      );
      break;
    default: {
      // the rest are short: their data, minus what a person does not read
      const { signature: _signature, ...rest } = d;
      const text = JSON.stringify(rest);
      if (text !== '{}') parts.push(text.length > 160 ? `${text.slice(0, 160)}…` : text);
    }
  }
  return `${String(e.seq).padStart(4)}  ${time}  step ${String(stepOfEntry(e)).padEnd(3)} ${e.kind.padEnd(20)} ${parts.join(' · ')}`;
}

function verdictLines(verdict: TrailVerdict, history?: HistoryMatch, historyNote?: string): string[] {
  const lines: string[] = [];
  const ok = verdict.ok && (history?.ok ?? true);
  lines.push(`${ok ? 'VERIFIED' : 'NOT VERIFIED'}: task ${verdict.taskId}, ${verdict.entries} entries`);
  if (verdict.signed)
    lines.push(
      verdict.signed.reasonSigned
        ? `  signed head at entry ${verdict.signed.seq} by key ${verdict.signed.keyId} (fingerprint ${verdict.signed.fingerprint}), at ${verdict.signed.reason}, ${verdict.signed.signedAt}`
        : // an audit-head/v1 head: its reason and time could have been edited without breaking it
          `  signed head at entry ${verdict.signed.seq} by key ${verdict.signed.keyId} (fingerprint ${verdict.signed.fingerprint}); unsigned (audit-head/v1): reason ${JSON.stringify(verdict.signed.reason)}, time ${JSON.stringify(verdict.signed.signedAt)}`,
    );
  lines.push(
    `  chain: ${verdict.firstBad ? `broken at entry ${verdict.firstBad.seq}: ${verdict.firstBad.reason}` : 'every hash and link holds'}`,
  );
  lines.push(
    `  ${verdict.complete ? 'complete: it ends with the end of the task' : 'partial: the task has not ended'}`,
  );
  if (history)
    lines.push(
      history.ok
        ? `  history: all ${history.activities} activities match the trail (type, outcome, result digest, worker)`
        : `  history: differs${history.firstBad?.seq ? ` at entry ${history.firstBad.seq}` : ''}${history.firstBad?.eventId ? ` (event ${history.firstBad.eventId})` : ''}: ${history.firstBad?.reason}`,
    );
  else if (historyNote) lines.push(`  history: ${historyNote}`);
  for (const n of verdict.notes) lines.push(`  note: ${n}`);
  return lines;
}

/** The trail as replaying each run rebuilds it must be the trail given, entry for entry. */
async function compareRebuilt(
  session: Session,
  trail: Trail,
  runs: { runId?: string }[],
  activities: number,
): Promise<HistoryMatch> {
  const rebuilt = await rebuildFromHistory(
    session.client.client,
    trail.taskId,
    runs.map((r) => r.runId!),
  );
  const differs = trail.entries.findIndex((e, i) => rebuilt[i]?.hash !== e.hash);
  if (differs < 0 && rebuilt.length === trail.entries.length) return { ok: true, activities };
  const seq = differs < 0 ? Math.min(rebuilt.length, trail.entries.length) + 1 : differs + 1;
  return {
    ok: false,
    activities,
    firstBad: { seq, reason: `the trail rebuilt from history differs from entry ${seq} on` },
  };
}

export const audit = defineCommand({
  name: 'audit',
  synopsis: 'show <taskId> | export <taskId> [--out FILE] [--cloudevents] | verify <file|taskId> [--key KEY]',
  summary: "a task's signed audit trail: read it, export it, verify it",
  details:
    'show: who did what, where, at what cost, under which rule, approved by whom.\n' +
    'export: JSON Lines, every entry then the signed head (--cloudevents: each line a CloudEvent).\n' +
    'verify: every hash and link, the head signature (by this install’s key, signing.auditKeys or --key),\n' +
    'that the trail runs to the task’s end, and, while Temporal still has the history, that every activity\n' +
    'in it is in the trail with the same result and vice versa. The format: docs/audit.md.',
  args: ['action', 'target'],
  options: {
    out: { type: 'string', value: 'FILE', description: 'export: write here instead of to stdout' },
    cloudevents: { type: 'boolean', description: 'export: each line a CloudEvent (structured mode)' },
    key: {
      type: 'string',
      value: 'KEY',
      description: 'verify: also trust this public key (64 hex digits, or a PEM file)',
    },
    rebuild: {
      type: 'boolean',
      description:
        'verify: also rebuild the trail by replaying each run on a worker (needs one running) and compare',
    },
    partial: {
      type: 'boolean',
      description: 'verify: accept a trail that does not end yet (a file of a running task)',
    },
    json: { type: 'boolean', description: 'show, verify: print JSON' },
  },
  async run({ config, args: [action, target], options }) {
    if (!action || !['show', 'export', 'verify'].includes(action))
      throw new UsageError(`audit takes show, export or verify${action ? `, not ${action}` : ''}`);
    if (!target)
      throw new UsageError(
        `audit ${action} needs a task id${action === 'verify' ? ' or an exported file' : ''}`,
      );

    if (action === 'verify') {
      const trusted: AuditKey[] = [...auditKeys(config), ...(options.key ? [keyArgument(options.key)] : [])];
      const fromFile = existsSync(target);
      const loaded = fromFile
        ? { trail: readTrailFile(target), running: false }
        : await taskTrail(config, target).catch((err: unknown) => {
            // a path that is not there was meant as a file: say so, not that no task has that id
            if (err instanceof UsageError && /[\\/]|\.jsonl?$/.test(target))
              throw new UsageError(`no file ${target}, and no task of that id`, {
                hint: 'give an exported file (steward audit export <taskId> --out FILE) or a task id',
              });
            throw err;
          });
      const { trail } = loaded;
      const session = 'session' in loaded ? loaded.session : await connect(config).catch(() => undefined);
      try {
        const verdict = verifyTrail({
          ...trail,
          trusted,
          partial: options.partial || loaded.running,
          sha256Hex: nodeSha256Hex,
        });
        let history: HistoryMatch | undefined;
        let historyNote = 'not checked: no Temporal server answered';
        if (session) {
          try {
            const runs = await taskHistories(session.client.client, trail.taskId);
            history = matchHistory(
              trail.entries,
              runs.map((r) => r.history),
            );
            if (history.ok && options.rebuild) {
              history = await compareRebuilt(session, trail, runs, history.activities);
              if (history.ok)
                verdict.notes.push('rebuilt by replaying its history: identical, entry for entry');
            }
          } catch (err) {
            if (!(err instanceof HistoryNotFound)) throw err;
            historyNote = 'not checked: Temporal no longer has it (the signed trail stands on its own)';
          }
        }
        const ok = verdict.ok && (history?.ok ?? true);
        say(
          options.json
            ? JSON.stringify({ ...verdict, ok, history: history ?? { note: historyNote } }, null, 2)
            : verdictLines(verdict, history, historyNote).join('\n'),
        );
        return ok ? 0 : 1;
      } finally {
        await session?.close();
      }
    }

    const { trail, session } = await taskTrail(config, target);
    try {
      if (action === 'export') {
        const text = exportTrail(trail, { cloudEvents: options.cloudevents });
        if (options.out) {
          writeFileSync(options.out, text);
          note(
            `wrote ${trail.entries.length} entries and ${lastHead(trail.heads) ? 'the signed head' : 'no signed head (none yet)'} to ${options.out}`,
          );
        } else process.stdout.write(text);
        return 0;
      }
      if (options.json) {
        say(JSON.stringify(trail, null, 2));
        return 0;
      }
      const head = lastHead(trail.heads);
      const first = trail.entries[0]!;
      say(
        `task ${trail.taskId}: ${first.actor?.agent ?? first.data.agent ?? ''} for ${first.actor?.principal ?? first.data.principal ?? ''}, ${trail.entries.length} entries`,
      );
      say(
        head
          ? `signed head: entry ${head.seq} by ${head.keyId} (fingerprint ${head.fingerprint}) at ${head.reason}${signsReason(head) ? '' : ' (reason unsigned: audit-head/v1)'}`
          : 'signed head: none yet',
      );
      for (const e of trail.entries) say(entryLine(e));
      return 0;
    } finally {
      await session?.close();
    }
  },
});
