import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  emptyLedger,
  expire,
  nextExpiry,
  prune,
  reserve,
  settle,
  type LedgerState,
} from '../policies/ledger';
import {
  ledgerQuery,
  parseMessage,
  reserveRequestSchema,
  reserveUpdate,
  settleInputSchema,
  settleSignal,
} from './messages';

/** Continue as new after this many messages even if Temporal does not suggest it: a small history. */
const MESSAGES_PER_RUN = 2_000;

/**
 * The spend ledger of one account (`principal:<id>` or `agent:<name>`), shared by every task of it: a
 * long-lived entity workflow. Tasks reserve a step's worst case by update before the step and settle
 * the real cost by signal after; updates run one at a time, so the daily cap holds under any
 * concurrency. A reservation nobody settles (its task was terminated) is charged in full at expiry.
 */
export async function ledger(carried?: LedgerState): Promise<void> {
  const state = carried ?? emptyLedger();
  let messages = 0;
  setHandler(ledgerQuery, () => state);
  setHandler(
    reserveUpdate,
    (request) => {
      messages++;
      return reserve(state, request, Date.now());
    },
    {
      validator: (request) => {
        const parsed = parseMessage(reserveRequestSchema, request);
        if (!parsed.ok) throw new Error(parsed.problem);
      },
    },
  );
  setHandler(settleSignal, (input) => {
    messages++;
    const parsed = parseMessage(settleInputSchema, input);
    if (!parsed.ok) return log.warn('settle refused', { problem: parsed.problem });
    settle(state, parsed.value.id, parsed.value);
  });

  for (;;) {
    const expiry = nextExpiry(state);
    const wait = expiry === undefined ? undefined : Math.max(expiry - Date.now(), 1);
    const more = () => workflowInfo().continueAsNewSuggested || messages >= MESSAGES_PER_RUN;
    if (wait === undefined) await condition(more);
    else await condition(more, wait);
    expire(state, Date.now());
    prune(state, Date.now());
    if (more()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof ledger>(state);
    }
  }
}
