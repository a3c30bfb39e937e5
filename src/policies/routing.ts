import type { ComputeNode, DataClass, ModelRoute, RoutePreference, TrustTier } from '../shared/types';
import type { Policy } from './types';

/** Consecutive failures after which a route is tried only after the healthy ones. */
export const UNHEALTHY_AFTER_FAILURES = 2;

export type Health = Record<string, { consecutiveFailures: number }>;

const TRUST_ORDER: TrustTier[] = ['local', 'private', 'public'];

interface Candidate {
  id: string;
  trust: TrustTier;
  cost: number;
  latencyMs: number;
}

function order<T>(
  items: T[],
  describe: (item: T) => Candidate,
  dataClass: DataClass,
  policy: Pick<Policy, 'dataBoundaries'>,
  preference: RoutePreference,
  health: Health,
): T[] {
  const allowedTiers = policy.dataBoundaries[dataClass];
  const score = (c: Candidate): number[] => {
    const unhealthy = (health[c.id]?.consecutiveFailures ?? 0) >= UNHEALTHY_AFTER_FAILURES ? 1 : 0;
    const trust = TRUST_ORDER.indexOf(c.trust);
    if (preference === 'privacy') return [unhealthy, trust, c.cost, c.latencyMs];
    if (preference === 'latency') return [unhealthy, c.latencyMs, c.cost, trust];
    return [unhealthy, c.cost, c.latencyMs, trust];
  };
  const scored = items
    .map((item) => ({ item, candidate: describe(item) }))
    .filter(({ candidate }) => allowedTiers.includes(candidate.trust))
    .map(({ item, candidate }) => ({ item, score: score(candidate) }));
  // Array.prototype.sort is stable, so config order breaks ties.
  scored.sort((a, b) => {
    for (let i = 0; i < a.score.length; i++) if (a.score[i] !== b.score[i]) return a.score[i]! - b.score[i]!;
    return 0;
  });
  return scored.map((s) => s.item);
}

/**
 * The model routes this step may use, best first: only tiers the data class may reach, then by the
 * task's preference, with routes that keep failing moved last. Empty means `no_route`.
 */
export function chooseModelRoutes(
  routes: ModelRoute[],
  dataClass: DataClass,
  policy: Pick<Policy, 'dataBoundaries'>,
  preference: RoutePreference,
  health: Health,
): ModelRoute[] {
  const describe = (r: ModelRoute): Candidate => ({
    id: r.id,
    trust: r.trust,
    cost: r.price ? r.price.inputPerMTok + r.price.outputPerMTok : Infinity,
    latencyMs: r.latencyMs ?? 1000,
  });
  return order(routes, describe, dataClass, policy, preference, health);
}

/** The compute nodes a job may run on, best first, under the same rules as models. */
export function chooseComputeNodes(
  nodes: ComputeNode[],
  dataClass: DataClass,
  policy: Pick<Policy, 'dataBoundaries'>,
  preference: RoutePreference,
  health: Health,
): ComputeNode[] {
  const describe = (n: ComputeNode): Candidate => ({
    id: n.id,
    trust: n.trust,
    cost: n.pricePerJobUsd ?? 0,
    latencyMs: 0,
  });
  return order(nodes, describe, dataClass, policy, preference, health);
}
