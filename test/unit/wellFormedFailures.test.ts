import { ApplicationFailure } from '@temporalio/common';
import { withWellFormedFailures } from '../../src/activities/wellFormedFailures';

test('an activity error and its causes leave with valid Unicode; type, retryability and results are kept', async () => {
  const activities = withWellFormedFailures({
    fails: async (path: string) => {
      throw ApplicationFailure.create({
        message: `no such file: ${path}`,
        type: 'ToolFailed',
        nonRetryable: true,
        cause: new Error(`open ${path}`),
      });
    },
    answers: async (n: number) => n + 1,
  });
  const err = (await activities.fails('a\ud800b').catch((e: unknown) => e)) as ApplicationFailure;
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err.message).toBe('no such file: a\ufffdb');
  expect(err.type).toBe('ToolFailed');
  expect(err.nonRetryable).toBe(true);
  expect((err.cause as Error).message).toBe('open a\ufffdb');
  expect(err.stack).not.toMatch(/[\ud800-\udfff]/);
  expect(await activities.answers(1)).toBe(2);
});
