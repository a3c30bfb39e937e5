import { getExternalWorkflowHandle, proxyLocalActivities } from '@temporalio/workflow';
import type { StewardActivities } from '../activities';
import type { LedgerSignature } from '../audit/ledgerSigning';
import { settleSignal } from './messages';
import { reserveSpend } from './options';
import type { TaskContext } from './taskContext';
import { resultDigest } from './trail';

/** Must match `ledgerId` in activities/spend.ts (workflow code cannot import it as a value). */
const ledgerId = (account: string): string => `steward-ledger:${account}`;

/** Signs $0 settlements (a step that did not run or was not billed): a short local side effect. */
const { releaseSpend } = proxyLocalActivities<StewardActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumAttempts: 5 },
});

/** The accounts whose daily caps a task's spend counts against (the worker's config sets the caps). */
function accounts(task: TaskContext): string[] {
  const { budgets, principal, agent } = task.spec;
  const out: string[] = [];
  if (budgets?.principal) out.push(`principal:${principal}`);
  if (budgets?.agent) out.push(`agent:${agent.name}`);
  return out;
}

/**
 * Spend reserved in the shared ledgers for one step; settled exactly once with what it cost. A ledger
 * charges the reservation unless a cost below it is signed by a worker: the model activity signs what
 * a call cost, and a step that never ran or was not billed gets a signed release.
 */
export class SpendHold {
  private settled = false;

  constructor(
    private readonly task: TaskContext,
    readonly id: string,
    readonly held: string[],
    private readonly reserved: { usd: number; tokens: number },
  ) {}

  /** `signatures`: a worker's signed statement of this cost, per account (from the model activity). */
  settle(usd: number, tokens: number, signatures: Record<string, LedgerSignature> = {}): void {
    if (this.settled) return;
    this.settled = true;
    const release = usd === 0 && tokens === 0 && (this.reserved.usd > 0 || this.reserved.tokens > 0);
    const unsigned = this.held.filter((account) => !signatures[account]);
    const send = (signed: Record<string, LedgerSignature>) => {
      for (const account of this.held) {
        const signature = signed[account];
        // A signal is a command of this workflow task: the step does not wait for it. The task does
        // before it ends (a signal sent in a run's last task is dropped by the server).
        const sent = getExternalWorkflowHandle(ledgerId(account))
          .signal(settleSignal, { id: this.id, usd, tokens, ...(signature ? { signature } : {}) })
          .catch(() => undefined); // the ledger also settles it at expiry
        this.task.pendingSignals.push(sent);
      }
    };
    if (!release || unsigned.length === 0) return send(signatures);
    const released = releaseSpend({ id: this.id, accounts: unsigned }).then(
      (more) => send({ ...signatures, ...more }),
      () => send(signatures), // unsigned: the ledger charges the reservation, never less
    );
    this.task.pendingSignals.push(released);
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
  for (const account of targets) {
    const answer = await reserveSpend({
      account,
      request: { id, taskId: task.spec.taskId, usd, tokens, expiresAt: task.deadlineMs },
      release: held,
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
      new SpendHold(task, id, held, { usd, tokens }).settle(0, 0, answer.releases);
      return { denied: `${account}: ${answer.reason}` };
    }
    held.push(account);
  }
  return new SpendHold(task, id, held, { usd, tokens });
}
