import {
  condition,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

/**
 * The baselines: plain Temporal workflows doing the same work as the Steward tasks they are measured
 * against, with the SDK's defaults (no policy, no audit, no search attributes).
 */
export interface BareActivities {
  noop(step: number): Promise<{ step: number }>;
  /** The approved action: reports the moment it starts (W3) and returns. */
  work(id: string): Promise<string>;
  /** One model call: a POST to the same local OpenAI-compatible server Steward's provider uses. */
  chat(step: number): Promise<string>;
}

const { noop, work, chat } = proxyActivities<BareActivities>({ startToCloseTimeout: '1m' });
const local = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '10s' });

export const approveUpdate = defineUpdate<string, [string]>('approve');

/** W1/W2: `steps` sequential no-op activities. */
export async function bareSteps(steps: number): Promise<number> {
  for (let i = 1; i <= steps; i++) await noop(i);
  return steps;
}

/** The reference for W1/W2: the same steps as local activities (run by the worker inside its workflow task). */
export async function bareLocalSteps(steps: number): Promise<number> {
  for (let i = 1; i <= steps; i++) await local.noop(i);
  return steps;
}

/** W3/W4: parked on an update; once it arrives, runs one activity. */
export async function bareApproval(id: string): Promise<string> {
  let approved = false;
  setHandler(approveUpdate, (by: string) => {
    approved = true;
    return `approved by ${by}`;
  });
  await condition(() => approved);
  return work(id);
}

/** W5: `calls` sequential model calls. */
export async function bareModel(calls: number): Promise<number> {
  for (let i = 1; i <= calls; i++) await chat(i);
  return calls;
}
