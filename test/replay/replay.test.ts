import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Histories recorded from real integration runs (`RECORD_REPLAY=1 npm run test:integration`),
 * replayed offline against the current workflow code: a change that would break tasks already
 * running fails here, and needs `patched()`.
 */
const files = readdirSync(__dirname).filter((f) => f.endsWith('.json'));

test('test/replay holds histories of at least three real runs', () => {
  expect(files.length).toBeGreaterThanOrEqual(3);
});

test('every recorded history replays deterministically against the current workflow code', async () => {
  const histories = files.map((file) => ({
    workflowId: file,
    history: JSON.parse(readFileSync(join(__dirname, file), 'utf8')),
  }));
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle: { code: readFileSync(process.env.STEWARD_TEST_BUNDLE!, 'utf8') } },
    histories,
  );
  for await (const result of results) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});
