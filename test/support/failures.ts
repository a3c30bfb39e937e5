import { ApplicationFailure } from '@temporalio/common';

/** The ApplicationFailure a promise rejects with; fails the test if it resolves or rejects otherwise. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
}
