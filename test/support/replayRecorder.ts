import type { WorkflowHandle } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * With RECORD_REPLAY=1, saves a finished task's history under test/replay/, where the unit suite
 * replays it offline against the current workflow code. Otherwise does nothing.
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_REPLAY !== '1') return;
  const history = await handle.fetchHistory();
  writeFileSync(join(__dirname, '..', 'replay', `${name}.json`), JSON.stringify(history, null, 1));
}
