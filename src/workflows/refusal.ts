import {
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { appendAudit, GENESIS } from '../audit/chain';
import { auditQuery, stateQuery } from './messages';
import { StewardStatus } from './searchAttributes';
import type { TaskResult, TaskState } from './contract';

/** A request the worker will not run ends at once, stopped with its reason, audited and queryable. */
export function refuseTask(start: unknown, detail: string): TaskResult {
  const { workflowId: taskId, startTime } = workflowInfo();
  const label = (key: string): string => {
    const value = (start as Record<string, unknown> | null)?.[key];
    return typeof value === 'string' ? value.slice(0, 200) : '';
  };
  const entry = appendAudit(GENESIS, taskId, {
    kind: 'task.refused',
    at: new Date().toISOString(),
    step: 0,
    data: { detail },
  });
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
