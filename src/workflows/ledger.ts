import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { StewardActivities } from '../activities';
import { checkCarry, type CarrySignature } from '../audit/carry';
import { checkReserve, checkSettle } from '../audit/ledgerSigning';
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
const LEDGER_PREFIX = 'steward-ledger:';

/** Short local side effects of the worker: its trusted keys, and signing the state it carries on. */
const { ledgerTrust, signLedgerCarry } = proxyLocalActivities<StewardActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumAttempts: 5 },
});

/**
 * The spend ledger of one account (`principal:<id>` or `agent:<name>`), shared by every task of it: a
 * long-lived entity workflow. Tasks reserve a step's worst case by update before the step and settle
 * the real cost by signal after; updates run one at a time, so the daily cap holds under any
 * concurrency. A reservation nobody settles (its task was terminated) is charged in full at expiry.
 *
 * It believes only its worker: a reservation must be signed by a key the worker trusts (this install's
 * and `signing.auditKeys`), a settlement below the reservation too (else the reservation is charged),
 * and state carried into a run must be signed for exactly this continue-as-new (else the run fails).
 */
export async function ledger(carried?: LedgerState | null, carrySignature?: CarrySignature): Promise<void> {
  const info = workflowInfo();
  const account = info.workflowId.startsWith(LEDGER_PREFIX)
    ? info.workflowId.slice(LEDGER_PREFIX.length)
    : info.workflowId;
  // Until carried state is checked there is nothing true to show (a forged run holds a forged state).
  setHandler(ledgerQuery, () => {
    if (carried) throw new Error('this ledger run has not accepted the state it was started with (yet)');
    return emptyLedger();
  });
  const { trusted } = await ledgerTrust();
  if (carried) {
    const problem = checkCarry(
      trusted,
      info.workflowId,
      info.continuedFromExecutionRunId,
      carried,
      carrySignature,
    );
    // Failing (not starting empty) leaves the forged run closed with the reason in its history; the
    // next reservation starts a clean ledger, as for an account that never had one.
    if (problem)
      throw ApplicationFailure.nonRetryable(`ledger state refused: ${problem}`, 'LedgerStateRefused');
  }
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
        const unsigned = checkReserve(trusted, account, parsed.value, parsed.value.signature);
        if (unsigned) throw new Error(`reservation refused: ${unsigned}`);
      },
    },
  );
  setHandler(settleSignal, (input) => {
    messages++;
    const parsed = parseMessage(settleInputSchema, input);
    if (!parsed.ok) return log.warn('settle refused', { problem: parsed.problem });
    const { id, signature } = parsed.value;
    const unproven = checkSettle(trusted, account, parsed.value, signature);
    const held = state.reservations[id];
    if (unproven && held && (parsed.value.usd < held.usd || parsed.value.tokens < held.tokens))
      log.warn('settle below the reservation is not signed: the reservation is charged', {
        id,
        problem: unproven,
      });
    settle(state, id, unproven ? undefined : parsed.value);
  });

  for (;;) {
    const expiry = nextExpiry(state);
    const wait = expiry === undefined ? undefined : Math.max(expiry - Date.now(), 1);
    const more = () => workflowInfo().continueAsNewSuggested || messages >= MESSAGES_PER_RUN;
    if (wait === undefined) await condition(more);
    else await condition(more, wait);
    expire(state, Date.now());
    prune(state, Date.now());
    while (more()) {
      await condition(allHandlersFinished);
      const seen = messages;
      const signature = await signLedgerCarry({ workflowId: info.workflowId, runId: info.runId, state });
      // a message that landed while it was signed changed the state: sign again
      if (messages === seen) await continueAsNew<typeof ledger>(state, signature);
    }
  }
}
