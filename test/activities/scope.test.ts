import type { Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import { DEFAULT_DATA_BOUNDARIES } from '../../src/policies/evaluate';
import { BlobStore } from '../../src/stores/blobStore';
import { builtinTools } from '../../src/tools/builtin';
import { ToolRegistry } from '../../src/tools/registry';
import type { TaskScope, ToolStepInput, ToolStepOutput } from '../../src/workflows/contract';
import { failureOf } from '../support/failures';

const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const dir = mkdtempSync(join(tmpdir(), 'steward-scope-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const workspace = join(dir, 'workspace');
const tools = () => new ToolRegistry().register(...builtinTools({ workspace, httpAllowlist: [] }));
const deps = {
  providers: new Map(),
  blobs: new BlobStore(join(dir, 'blobs')),
  logger: pino({ level: 'silent' }),
};

const readOnly: TaskScope = {
  principal: 'bob',
  tools: ['read_file', 'text_stats'],
  effects: ['read'],
  dataClass: 'public',
};

function step(tool: string, input: unknown, scope: TaskScope): ToolStepInput {
  return { taskId: 't', step: 1, tool, input, idempotencyKey: 't:1', scope };
}

async function run(
  activities: ReturnType<typeof createActivities>,
  input: ToolStepInput,
): Promise<ToolStepOutput> {
  return new MockActivityEnvironment(undefined, { logger: silent }).run(activities.runTool, input);
}

beforeAll(() => {
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, 'a.txt'), 'alpha');
});

describe('activities re-check the task’s scope (a bug in workflow code cannot widen a task)', () => {
  const activities = createActivities({ ...deps, tools: tools() });

  test('a tool the task may not use is refused, not retried, and does nothing', async () => {
    const err = await failureOf(
      run(activities, step('write_file', { path: 'x.txt', content: 'no' }, readOnly)),
    );
    expect(err).toMatchObject({ type: 'ToolRejected', nonRetryable: true });
    expect(err.message).toBe("out of the task's scope: the task may not use write_file");
    expect(existsSync(join(workspace, 'x.txt'))).toBe(false);
  });

  test('a tool whose effect is not among the task’s granted effects is refused', async () => {
    const scope = { ...readOnly, tools: [...readOnly.tools, 'write_file'] };
    const err = await failureOf(run(activities, step('write_file', { path: 'y.txt', content: 'no' }, scope)));
    expect(err.message).toBe(
      "out of the task's scope: write_file has effect write here, which the task was not granted",
    );
    expect(existsSync(join(workspace, 'y.txt'))).toBe(false);
  });

  test('a tool returning data above the task’s ceiling is refused', async () => {
    const err = await failureOf(
      run(activities, step('read_file', { path: 'a.txt' }, { ...readOnly, dataCeiling: 'public' })),
    );
    expect(err.message).toBe(
      "out of the task's scope: read_file returns internal data, above the task's ceiling (public)",
    );
  });

  test('a tool inside the scope runs', async () => {
    const out = await run(activities, step('read_file', { path: 'a.txt' }, readOnly));
    expect(out.output).toEqual({ path: 'a.txt', text: 'alpha' });
  });
});

describe('a compute node refuses a job above its data ceiling', () => {
  const publicNode = createActivities({
    ...deps,
    tools: tools(),
    node: { id: 'cloud', trust: 'public', boundaries: DEFAULT_DATA_BOUNDARIES },
  });

  test('confidential data is refused by a public node', async () => {
    const err = await failureOf(
      run(
        publicNode,
        step('text_stats', { text: 'secret plans' }, { ...readOnly, dataClass: 'confidential' }),
      ),
    );
    expect(err).toMatchObject({ type: 'ToolRejected', nonRetryable: true });
    expect(err.message).toBe(
      "out of the task's scope: compute node cloud (public) may not see confidential data",
    );
  });

  test('public data runs on it', async () => {
    const out = await run(publicNode, step('text_stats', { text: 'hello world' }, readOnly));
    expect(out.output).toMatchObject({ words: 2 });
  });
});
