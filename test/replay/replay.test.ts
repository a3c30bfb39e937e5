import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHistoryFile, replayHistories, type ReplayReport } from '../../src/runtime/replay';

/**
 * Histories recorded from real integration runs (`RECORD_REPLAY=1 npm run test:integration`),
 * replayed offline against the current workflow code, as `steward replay test/replay/*.json` does: a
 * change that would break tasks already running fails here, and needs `patched()`. Every JSON file in
 * this folder is replayed, so a history committed here is in CI from then on (npm test runs this project).
 */
const files = readdirSync(__dirname).filter((f) => f.endsWith('.json'));

test('test/replay holds histories of at least three real runs', () => {
  expect(files.length).toBeGreaterThanOrEqual(3);
});

test('every recorded history replays deterministically against the current workflow code', async () => {
  const reports: ReplayReport[] = [];
  const sources = files.map((file) => readHistoryFile(join(__dirname, file)));
  const workflowBundle = { code: readFileSync(process.env.STEWARD_TEST_BUNDLE!, 'utf8') };
  for await (const report of replayHistories(sources, { workflowBundle })) reports.push(report);
  expect(reports).toHaveLength(files.length);
  const failures = reports
    .filter((r) => r.status !== 'ok')
    .map(
      (r) =>
        `${r.origin}: ${r.status}${r.event ? ` at event ${r.event.id} ${r.event.type}` : ''}: ${r.message}`,
    );
  expect(failures).toEqual([]);
});
