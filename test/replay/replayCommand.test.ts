/**
 * `steward replay` on history files, offline: the runtime module's reports, and the real CLI as its
 * own process. A committed history replays; a copy of it edited so one ActivityTaskScheduled names
 * another activity type is reported as a nondeterminism at that event, with Temporal's message.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  eventTypeName,
  readHistoryFile,
  replayHistories,
  sdkMessage,
  type HistorySource,
  type ReplayReport,
} from '../../src/runtime/replay';
import { runCli, type CliEnv } from '../support/cliProcess';

jest.setTimeout(90_000);

const COMMITTED = join(__dirname, 'approval-granted.json');
const bundle = () => ({ code: readFileSync(process.env.STEWARD_TEST_BUNDLE!, 'utf8') });
const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'replay-cli-'));
const env: CliEnv = { config: join(dir, 'steward.yaml'), dataDir: join(dir, 'data'), cwd: dir };
writeFileSync(env.config, '{}\n');
/** The CLI replays with the suite's bundle of the current workflow code (the e2e test lets it bundle). */
const BUNDLE = ['--bundle', process.env.STEWARD_TEST_BUNDLE!];

/** The committed history with its second activity's type renamed: the code schedules `runTool` there. */
function nondeterministicVariant(): { path: string; eventId: number; recordedType: string } {
  const json = JSON.parse(readFileSync(COMMITTED, 'utf8')) as {
    events: { eventId: string; activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
  };
  const scheduled = json.events.filter((e) => e.activityTaskScheduledEventAttributes);
  const event = scheduled[1];
  const recordedType = event.activityTaskScheduledEventAttributes!.activityType.name;
  event.activityTaskScheduledEventAttributes!.activityType.name = 'renamedActivity';
  const path = join(dir, 'nondeterministic.json');
  writeFileSync(path, JSON.stringify(json));
  return { path, eventId: Number(event.eventId), recordedType };
}

async function reportsOf(sources: HistorySource[]): Promise<ReplayReport[]> {
  const out: ReplayReport[] = [];
  for await (const report of replayHistories(sources, { workflowBundle: bundle() })) out.push(report);
  return out;
}

test('a committed history replays; an edited copy is a nondeterminism at the edited event', async () => {
  const variant = nondeterministicVariant();
  const [ok, bad] = await reportsOf([readHistoryFile(COMMITTED), readHistoryFile(variant.path)]);

  // the workflow id and run id come from the history's start event, not the file name
  const started = JSON.parse(readFileSync(COMMITTED, 'utf8')).events[0]
    .workflowExecutionStartedEventAttributes;
  expect(ok).toMatchObject({
    origin: COMMITTED,
    workflowId: started.workflowId,
    runId: started.originalExecutionRunId,
    workflowType: 'agentRun',
    status: 'ok',
  });
  expect(ok.event).toBeUndefined();

  expect(bad).toMatchObject({
    origin: variant.path,
    workflowId: started.workflowId,
    status: 'nondeterminism',
    event: { id: variant.eventId, type: 'ActivityTaskScheduled' },
  });
  expect(bad.message).toBe(
    `[TMPRL1100] Nondeterminism error: Activity type of scheduled event 'renamedActivity' does not match ` +
      `activity type of activity command '${variant.recordedType}'`,
  );
});

test('steward replay <files>: a line per history, the event and message of a failure, exit 1', async () => {
  const variant = nondeterministicVariant();
  const result = await runCli(['replay', COMMITTED, variant.path, ...BUNDLE], env, 60_000);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(1);
  const lines = result.stdout.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^ok +test-free-\S+ {2}run \S+ {2}\(.*approval-granted\.json\)$/);
  expect(lines[1]).toMatch(
    new RegExp(
      `^NONDETERMINISM +test-free-\\S+ {2}run \\S+ {2}at event ${variant.eventId} ActivityTaskScheduled `,
    ),
  );
  expect(lines[2]).toContain("Activity type of scheduled event 'renamedActivity' does not match");
  expect(lines[3]).toBe(`2 histories replayed with the workflow bundle ${BUNDLE[1]}: 1 ok, 1 did not replay`);

  // the committed history alone: exit 0
  const alone = await runCli(['replay', COMMITTED, ...BUNDLE], env);
  expect(alone.code).toBe(0);
  expect(alone.stdout).toMatch(/^ok +/);
});

test('steward replay --json: one report per history, machine-readable', async () => {
  const variant = nondeterministicVariant();
  const result = await runCli(['replay', variant.path, '--json', ...BUNDLE], env);
  expect(result.code).toBe(1);
  const out = JSON.parse(result.stdout) as { ok: boolean; reports: ReplayReport[] };
  expect(out.ok).toBe(false);
  expect(out.reports).toHaveLength(1);
  expect(out.reports[0]).toMatchObject({
    status: 'nondeterminism',
    event: { id: variant.eventId, type: 'ActivityTaskScheduled' },
  });
});

test('unreadable files, bad JSON and JSON that is no history are each one clear line', async () => {
  writeFileSync(join(dir, 'truncated.json'), '{"events": [');
  writeFileSync(join(dir, 'other.json'), '{"name": "not a history"}');
  const [missing, truncated, other, nothing] = await Promise.all([
    runCli(['replay', join(dir, 'missing.json')], env),
    runCli(['replay', join(dir, 'truncated.json')], env),
    runCli(['replay', join(dir, 'other.json')], env),
    runCli(['replay'], env),
  ]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toBe(
    `steward: cannot read history file ${join(dir, 'missing.json')}: no such file\n`,
  );
  expect(truncated.code).toBe(1);
  expect(truncated.stderr).toMatch(/^steward: \S+truncated\.json is not JSON: /);
  expect(other.code).toBe(1);
  expect(other.stderr).toMatch(
    /^steward: \S+other\.json is not a Temporal workflow history: it has no "events" list\n/,
  );
  expect(nothing.code).toBe(1);
  expect(nothing.stderr).toContain('replay needs a task id, a history file or --query');
  for (const r of [missing, truncated, other]) expect(r.stderr).not.toMatch(/\n\s+at /);

  writeFileSync(join(dir, 'junk.js'), 'module.exports = 1;\n');
  const junk = await runCli(['replay', COMMITTED, '--bundle', join(dir, 'junk.js')], env);
  expect(junk.code).toBe(1);
  expect(junk.stdout).toBe('');
  expect(junk.stderr).toMatch(
    /^steward: the replay worker failed: .+\n {2}→ is the bundle the code that bundleWorkflowCode made/,
  );
});

test('event type names and the SDK message are read out of their wire forms', () => {
  expect(eventTypeName('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toBe('ActivityTaskScheduled');
  expect(eventTypeName('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED')).toBe(
    'WorkflowExecutionUpdateAccepted',
  );
  expect(eventTypeName('TimerStarted')).toBe('TimerStarted');
  const wrapped =
    'Replay failed with a nondeterminism error. This means that the workflow code as written is not compatible ' +
    'with the history that was fed in. Details: Workflow activation completion failed: Failure { failure: ' +
    'Some(Failure { message: "[TMPRL1100] Nondeterminism error: Timer id \\"a\\" differs", source: "", ' +
    'stack_trace: "" }) }';
  expect(sdkMessage(wrapped)).toBe('[TMPRL1100] Nondeterminism error: Timer id "a" differs');
  expect(sdkMessage('Replay failed due to internal SDK issue. Code: FATAL, Details: boom')).toBe('boom');
});
