import { appendAudit, GENESIS, type AuditEntry } from '../../src/audit/chain';

/** A chain of `n` entries of task `taskId`; `variant` changes what the entries say (another version). */
export function chain(taskId: string, n: number, variant = ''): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let head = GENESIS;
  for (let i = 1; i <= n; i++) {
    const entry = appendAudit(head, taskId, {
      kind: 'tool.completed',
      at: `2026-11-27T10:00:0${i % 10}.000Z`,
      step: i,
      data: { n: i, variant },
    });
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  return entries;
}
