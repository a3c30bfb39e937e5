import { getExternalWorkflowHandle } from '@temporalio/workflow';
import type { DailyCap } from '../policies/ledger';
import { settleSignal } from './messages';
import { reserveSpend } from './options';
import type { TaskContext } from './taskContext';
import { resultDigest } from './trail';

/** Must match `ledgerId` in activities/spend.ts (workflow code cannot import it as a value). */
const ledgerId = (account: string): string => `steward-ledger:${account}`;

/** The accounts whose daily caps a task's spend counts against. */
function accounts(task: TaskContext): [string, DailyCap][] {
  const { budgets, principal, agent } = task.spec;
  const out: [string, DailyCap][] = [];
  if (budgets?.principal) out.push([`principal:${principal}`, budgets.principal]);
  if (budgets?.agent) out.push([`agent:${agent.name}`, budgets.agent]);
  return out;
}

/** Spend reserved in the shared ledgers for one step; settled exactly once with what it cost. */
export class SpendHold {
  private settled = false;

  constructor(
    private readonly task: TaskContext,
    private readonly id: string,
    private readonly held: string[],
  ) {}

  settle(usd: number, tokens: number): void {
    if (this.settled) return;
    this.settled = true;
    for (const account of this.held) {
      // A signal is a command of this workflow task: the step does not wait for it. The task does
      // before it ends (a signal sent in a run's last task is dropped by the server).
      const sent = getExternalWorkflowHandle(ledgerId(account))
        .signal(settleSignal, { id: this.id, usd, tokens })
        .catch(() => undefined); // the ledger also settles it at expiry
      this.task.pendingSignals.push(sent);
    }
  }
}

/**
 * Reserves a step's worst case in every ledger the task's spend counts against (its principal's and
 * its agent's daily caps). Undefined when no shared budget applies; a refusal names the cap.
 */
export async function reserveShared(
  task: TaskContext,
  key: string,
  usd: number,
  tokens: number,
): Promise<SpendHold | { denied: string } | undefined> {
  const targets = accounts(task);
  if (targets.length === 0) return undefined;
  const id = `${task.spec.taskId}:${task.carried.step + 1}:${key}`;
  const held: string[] = [];
  task.publish(); // the task waits for the ledger's answer
  for (const [account, cap] of targets) {
    const answer = await reserveSpend({
      account,
      request: { id, taskId: task.spec.taskId, usd, tokens, cap, expiresAt: task.deadlineMs },
    });
    task.audit(
      'budget.reserved',
      { account, id, usd, granted: answer.granted },
      {
        action: { type: 'ledger', activity: 'reserveSpend' },
        outcome: { ok: true, resultDigest: resultDigest(answer) },
      },
    );
    if (!answer.granted) {
      new SpendHold(task, id, held).settle(0, 0);
      return { denied: `${account}: ${answer.reason}` };
    }
    held.push(account);
  }
  return new SpendHold(task, id, held);
}
