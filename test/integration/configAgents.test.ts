import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createWorker, type StewardWorker } from '../../src';
import { ensureModel } from '../../src/weights';
import { testAddress, uniqueName, workflowBundle } from '../support/harness';

const DATA_DIR = process.env.STEWARD_DATA_DIR ?? resolve(__dirname, '../../.steward');

/**
 * An agent declared in configuration runs on a real worker (built through the public createWorker)
 * under the same policy, approval and audit as a built-in one.
 */
describe('an agent from configuration, end to end', () => {
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'config-agents-'));
  const workspace = join(dir, 'workspace');
  let worker: StewardWorker;

  beforeAll(async () => {
    mkdirSync(join(workspace, 'notes'), { recursive: true });
    writeFileSync(join(workspace, 'notes', 'todo.md'), '- ship the config agents\n');
    worker = await createWorker({
      address: testAddress(),
      workflowBundle: workflowBundle(),
      baseDir: dir,
      config: {
        dataDir: '.steward',
        temporal: { taskQueue: uniqueName('config-agents') },
        computeNodes: [{ id: 'n', taskQueue: uniqueName('config-agents-node') }],
        providers: { embedded: { kind: 'embedded', modelPath: await ensureModel({ dataDir: DATA_DIR }) } },
        tools: { workspace: 'workspace' },
        policy: { approval: { approvers: ['carol'] } },
        agents: [
          {
            name: 'copy-notes',
            description: 'Copies a notes file (one approval)',
            instructions: 'Copy files.',
            tools: ['read_file', 'write_file'],
            inputSchema: {
              type: 'object',
              properties: { from: { type: 'string' }, to: { type: 'string' } },
              required: ['from', 'to'],
              additionalProperties: false,
            },
            plan: [
              { id: 'read', kind: 'tool', tool: 'read_file', input: { path: '{{input.from}}' } },
              {
                id: 'write',
                kind: 'tool',
                tool: 'write_file',
                input: { path: '{{input.to}}', content: '{{steps.read.output.text}}' },
              },
              { id: 'done', kind: 'finish', result: 'copied {{steps.write.output.bytes}} bytes' },
            ],
          },
          {
            name: 'needs-missing-tool',
            description: 'Names a tool this worker does not have',
            instructions: 'none',
            tools: ['nowhere__tool'],
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs its plan, asks the configured approver, and writes the file', async () => {
    expect(worker.agents).toEqual(expect.arrayContaining(['copy-notes', 'notes-digest']));
    const client = await worker.client();
    const handle = await client.start({
      agent: 'copy-notes',
      principal: 'alice',
      input: { from: 'notes/todo.md', to: 'notes/copy.md' },
    });
    const approvers: string[][] = [];
    const result = await client.follow(handle.workflowId, async (state) => {
      const pending = state.pendingApproval;
      if (!pending || pending.decisions.length > 0) return;
      approvers.push(pending.approvers);
      await client.decide(handle.workflowId, {
        identity: 'carol',
        decision: 'approve',
        approvalId: pending.id,
        digest: pending.digest,
      });
    });
    expect(result).toMatchObject({ status: 'completed', result: 'copied 25 bytes' });
    expect(approvers).toEqual([['carol']]);
    expect(readFileSync(join(workspace, 'notes', 'copy.md'), 'utf8')).toBe('- ship the config agents\n');
    const kinds = (await client.audit(handle.workflowId)).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['policy.decided', 'approval.decided', 'tool.completed']));
  });

  test('input its JSON Schema refuses, and a tool the worker lacks, stop the task as refused with the reason', async () => {
    const client = await worker.client();
    const bad = await client.start({ agent: 'copy-notes', principal: 'alice', input: { from: 'x' } });
    expect(await bad.result()).toMatchObject({
      status: 'stopped',
      stopReason: 'refused',
      detail: expect.stringContaining('input for agent copy-notes is invalid'),
    });
    const missing = await client.start({ agent: 'needs-missing-tool', principal: 'alice' });
    expect(await missing.result()).toMatchObject({
      stopReason: 'refused',
      detail: expect.stringContaining('nowhere__tool'),
    });
  });
});
