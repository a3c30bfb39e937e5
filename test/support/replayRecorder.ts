import type { WorkflowHandle } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findTemporalCli } from '../../src/runtime/temporalCli';

/**
 * With RECORD_REPLAY=1, saves a finished task's history under test/replay/ (in the JSON form that
 * `temporal workflow show --output json` and the Temporal UI export), where the unit suite replays it
 * offline against the current workflow code. Otherwise does nothing.
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_REPLAY !== '1') return;
  const json = execFileSync(
    findTemporalCli()!,
    [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      '--address',
      process.env.TEMPORAL_ADDRESS!,
      '--output',
      'json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  writeFileSync(join(__dirname, '..', 'replay', `${name}.json`), json);
}
