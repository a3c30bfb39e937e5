import { proxyActivities } from '@temporalio/workflow';

/** The baseline: a plain Temporal workflow running the same number of sequential activities. */
const { noop } = proxyActivities<{ noop(step: number): Promise<{ step: number }> }>({
  startToCloseTimeout: '1m',
});

export async function bareSteps(steps: number): Promise<number> {
  for (let i = 1; i <= steps; i++) await noop(i);
  return steps;
}
