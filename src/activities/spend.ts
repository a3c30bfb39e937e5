import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { ErrorTypes, failure } from '../errors';
import type { ReserveAnswer, ReserveRequest } from '../policies/ledger';

export interface SpendActivityDeps {
  /** Where the ledgers live: a client of the worker's namespace, and the steward task queue. */
  ledger?: { client: Client; taskQueue: string };
}

/** The workflow id of an account's ledger (`principal:alice`, `agent:notes-digest`). */
export function ledgerId(account: string): string {
  return `steward-ledger:${account}`;
}

/**
 * Reserves spend in an account's ledger, starting the ledger on first use. Runs as a local activity
 * (a workflow cannot send an update itself); the ledger answers the same for the same reservation
 * id, so a retry after a crash never reserves twice.
 */
export function createSpendActivity({ ledger }: SpendActivityDeps) {
  return async function reserveSpend(input: {
    account: string;
    request: ReserveRequest;
  }): Promise<ReserveAnswer> {
    if (!ledger)
      throw failure(ErrorTypes.NotRegistered, 'this worker has no Temporal client for the spend ledger');
    return ledger.client.workflow.executeUpdateWithStart<Workflow, ReserveAnswer, [ReserveRequest]>(
      'reserve',
      {
        args: [input.request],
        startWorkflowOperation: new WithStartWorkflowOperation('ledger', {
          workflowId: ledgerId(input.account),
          taskQueue: ledger.taskQueue,
          args: [],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `spend ledger of ${input.account}`,
        }),
      },
    );
  };
}
