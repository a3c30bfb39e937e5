import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { signCarry, type CarrySignature } from '../audit/carry';
import { signReserve, signSettle, type LedgerSignature, type SigningKey } from '../audit/ledgerSigning';
import type { StewardConfig } from '../config/schema';
import { ErrorTypes, failure } from '../errors';
import type { DailyCap, LedgerState, ReserveAnswer, ReserveRequest } from '../policies/ledger';

export interface SpendActivityDeps {
  /** Where the ledgers live: a client of the worker's namespace, and the steward task queue. */
  ledger?: { client: Client; taskQueue: string };
  /** The install's key: it signs reservations, releases and a ledger's state across continue-as-new. */
  auditKey?: SigningKey;
  /** The daily caps (`budgets`) and the other workers' keys a ledger trusts (`signing.auditKeys`). */
  config: Pick<StewardConfig, 'budgets' | 'signing'>;
}

/** The workflow id of an account's ledger (`principal:alice`, `agent:notes-digest`). */
export function ledgerId(account: string): string {
  return `steward-ledger:${account}`;
}

/** The daily cap of an account as this worker's configuration sets it (never as a caller says). */
export function capOf(config: SpendActivityDeps['config'], account: string): DailyCap {
  const kind = account.startsWith('principal:') ? 'principal' : account.startsWith('agent:') ? 'agent' : '';
  const cap = kind ? config.budgets?.[kind] : undefined;
  return {
    ...(cap?.dailyUsd !== undefined ? { usd: cap.dailyUsd } : {}),
    ...(cap?.dailyTokens !== undefined ? { tokens: cap.dailyTokens } : {}),
  };
}

/** A reservation as the task asks for it: the cap is the worker's to say. */
export type SpendRequest = Omit<ReserveRequest, 'cap'>;

/** Zero-cost settlements of reservation `id` in each account, signed: the step never ran. */
function releases(key: SigningKey, id: string, accounts: string[]): Record<string, LedgerSignature> {
  return Object.fromEntries(accounts.map((a) => [a, signSettle(key, a, { id, usd: 0, tokens: 0 })]));
}

/** The ledger activities: reserving (signed), releasing, and the trust and carry of a ledger workflow. */
export function createSpendActivities({ ledger, auditKey, config }: SpendActivityDeps) {
  const key = (): SigningKey => {
    if (!auditKey)
      throw failure(ErrorTypes.NotRegistered, 'this worker has no install key to sign spend-ledger messages');
    return auditKey;
  };
  return {
    /**
     * Reserves spend in an account's ledger, starting the ledger on first use. A normal activity (a
     * workflow cannot send an update itself); the ledger answers the same for the same reservation id,
     * so a retry after a crash never reserves twice. The request is signed with the cap this worker's
     * config sets. When refused, the reservation's holds in the accounts `release` names (reserved
     * before this one) come back as signed releases, for the task to settle at $0.
     */
    async reserveSpend(input: {
      account: string;
      request: SpendRequest;
      release?: string[];
    }): Promise<ReserveAnswer & { releases?: Record<string, LedgerSignature> }> {
      if (!ledger)
        throw failure(ErrorTypes.NotRegistered, 'this worker has no Temporal client for the spend ledger');
      const { id, taskId, usd, tokens, expiresAt } = input.request;
      const request: ReserveRequest = {
        id,
        taskId,
        usd,
        tokens,
        expiresAt,
        cap: capOf(config, input.account),
      };
      const signed = { ...request, signature: signReserve(key(), input.account, request) };
      const answer = await ledger.client.workflow.executeUpdateWithStart<
        Workflow,
        ReserveAnswer,
        [typeof signed]
      >('reserve', {
        args: [signed],
        startWorkflowOperation: new WithStartWorkflowOperation('ledger', {
          workflowId: ledgerId(input.account),
          taskQueue: ledger.taskQueue,
          args: [],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `spend ledger of ${input.account}`,
        }),
      });
      if (answer.granted || !input.release?.length) return answer;
      return { ...answer, releases: releases(key(), id, input.release) };
    },

    /** Signed $0 settlements for a reservation whose step did not run or was not billed. */
    async releaseSpend(input: { id: string; accounts: string[] }): Promise<Record<string, LedgerSignature>> {
      return releases(key(), input.id, input.accounts);
    },

    /** The public keys a ledger run trusts: this install's and `signing.auditKeys` (other workers'). */
    async ledgerTrust(): Promise<{ trusted: string[] }> {
      const others = (config.signing.auditKeys ?? []).map((k) => k.publicKey);
      return { trusted: [...(auditKey ? [auditKey.publicKey] : []), ...others] };
    },

    /** Signs a ledger's state for its next run: only this run's own continue-as-new may carry it. */
    async signLedgerCarry(input: {
      workflowId: string;
      runId: string;
      state: LedgerState;
    }): Promise<CarrySignature> {
      return signCarry(key(), input.workflowId, input.runId, input.state);
    },
  };
}
