/**
 * The spend ledger of one account (a principal, or an agent) as plain data: what each day has spent
 * and what running steps have reserved. Pure functions, run inside the ledger workflow, so every
 * decision replays from history. A reservation is granted only if it fits under the day's cap with
 * everything already spent and reserved, so the cap holds however many tasks race for it.
 */

/** A daily cap; an absent field is not capped. */
export interface DailyCap {
  usd?: number;
  tokens?: number;
}

export interface SpendAmount {
  usd: number;
  tokens: number;
}

export interface LedgerReservation extends SpendAmount {
  taskId: string;
  /** The UTC day (YYYY-MM-DD) it counts against. */
  day: string;
  /** Past this instant (ms) a reservation nobody settled is charged in full: it may have been billed. */
  expiresAt: number;
}

export interface LedgerState {
  /** Spend settled per UTC day; only the current and the previous day are kept. */
  days: Record<string, SpendAmount>;
  /** Open reservations by id (`taskId:step:route`). */
  reservations: Record<string, LedgerReservation>;
  /** Ids already settled, so a repeated settle or reserve (a replayed local activity) does nothing twice. */
  settled: string[];
}

export interface ReserveRequest extends SpendAmount {
  id: string;
  taskId: string;
  cap: DailyCap;
  expiresAt: number;
}

export type ReserveAnswer =
  { granted: true; remaining: { usd?: number; tokens?: number } } | { granted: false; reason: string };

/** How many settled ids are remembered for idempotence. */
const SETTLED_MEMORY = 10_000;

export function emptyLedger(): LedgerState {
  return { days: {}, reservations: {}, settled: [] };
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Settled plus reserved spend of a day. */
export function committed(state: LedgerState, day: string): SpendAmount {
  const total = { ...(state.days[day] ?? { usd: 0, tokens: 0 }) };
  for (const r of Object.values(state.reservations)) {
    if (r.day !== day) continue;
    total.usd += r.usd;
    total.tokens += r.tokens;
  }
  return total;
}

export function reserve(state: LedgerState, request: ReserveRequest, now: number): ReserveAnswer {
  const day = utcDay(now);
  const existing = state.reservations[request.id];
  const remaining = (used: SpendAmount) => ({
    ...(request.cap.usd !== undefined ? { usd: round(request.cap.usd - used.usd) } : {}),
    ...(request.cap.tokens !== undefined ? { tokens: request.cap.tokens - used.tokens } : {}),
  });
  // the same reservation asked again (a local activity replayed after a crash) gets the same answer
  if (existing) return { granted: true, remaining: remaining(committed(state, existing.day)) };
  if (state.settled.includes(request.id))
    return { granted: false, reason: `${request.id} is already settled` };
  const used = committed(state, day);
  if (request.cap.usd !== undefined && used.usd + request.usd > request.cap.usd + 1e-9) {
    return {
      granted: false,
      reason: `$${round(request.usd)} would take today's spend past the $${request.cap.usd} cap ($${round(used.usd)} spent or reserved)`,
    };
  }
  if (request.cap.tokens !== undefined && used.tokens + request.tokens > request.cap.tokens) {
    return {
      granted: false,
      reason: `${request.tokens} tokens would take today's use past the ${request.cap.tokens}-token cap (${used.tokens} used or reserved)`,
    };
  }
  state.reservations[request.id] = {
    taskId: request.taskId,
    usd: request.usd,
    tokens: request.tokens,
    day,
    expiresAt: request.expiresAt,
  };
  return { granted: true, remaining: remaining(committed(state, day)) };
}

/**
 * Replaces a reservation by what the step really cost, or by the reservation itself when the cost is
 * not proven (`actual` undefined: a settle no worker signed can never lower a charge). Unknown or
 * settled ids change nothing.
 */
export function settle(state: LedgerState, id: string, actual?: SpendAmount): boolean {
  const r = state.reservations[id];
  if (!r) return false;
  const charged = actual ?? r;
  delete state.reservations[id];
  const day = (state.days[r.day] ??= { usd: 0, tokens: 0 });
  day.usd = round(day.usd + charged.usd);
  day.tokens += charged.tokens;
  state.settled.push(id);
  if (state.settled.length > SETTLED_MEMORY) state.settled.splice(0, state.settled.length - SETTLED_MEMORY);
  return true;
}

/** Settles, at their reserved amount, the reservations past their expiry (their task is gone). */
export function expire(state: LedgerState, now: number): string[] {
  const expired = Object.entries(state.reservations).filter(([, r]) => r.expiresAt <= now);
  for (const [id] of expired) settle(state, id);
  return expired.map(([id]) => id);
}

/** Keeps today's and yesterday's totals only, so the state stays small across continue-as-new. */
export function prune(state: LedgerState, now: number): void {
  const keep = new Set([utcDay(now), utcDay(now - 86_400_000)]);
  for (const day of Object.keys(state.days)) if (!keep.has(day)) delete state.days[day];
}

export function nextExpiry(state: LedgerState): number | undefined {
  const times = Object.values(state.reservations).map((r) => r.expiresAt);
  return times.length ? Math.min(...times) : undefined;
}

function round(usd: number): number {
  return Math.round(usd * 1_000_000) / 1_000_000;
}
