import type { AgentDefinition } from '../../src/agents/definition';
import { rebuildFromHistory } from '../../src/runtime/auditHistory';
import { taskHistories } from '../../src/runtime/replay';
import { Harness } from '../support/harness';

const oneRead: AgentDefinition = {
  name: 'test-one-read',
  description: 'one read, then done',
  instructions: 'n/a',
  tools: ['read_file'],
  plan: [
    { id: 'a', kind: 'tool', tool: 'read_file', input: { path: 'in.txt' } },
    { id: 'done', kind: 'finish', result: 'ok' },
  ],
};

const harness = new Harness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());

/**
 * A state query that reaches a task while its `resolveTask` local activity runs splits the workflow
 * task; the live run then saw the later task's time where its replay sees the earlier one, so its
 * first entries were recorded with times no replay reproduces (10 or more of 40 tasks before the fix).
 */
test('queries during a local activity do not move the audit clock: each trail rebuilt from history is the stored one', async () => {
  harness.writeWorkspaceFile('in.txt', 'hello');
  const differing: string[] = [];
  await Promise.all(
    Array.from({ length: 40 }, async () => {
      const spec = harness.spec(oneRead, { input: 'x' });
      const handle = await harness.launch(spec);
      for (let i = 0; i < 10; i++) await harness.client.state(spec.taskId).catch(() => undefined);
      expect((await handle.result()).status).toBe('completed');
      const stored = (await harness.auditStore.read(spec.taskId)).entries;
      const runs = await taskHistories(harness.client.client, spec.taskId);
      const rebuilt = await rebuildFromHistory(
        harness.client.client,
        spec.taskId,
        runs.map((r) => r.runId!),
      );
      const i = stored.findIndex((e, k) => rebuilt[k]?.hash !== e.hash);
      if (i >= 0 || rebuilt.length !== stored.length)
        differing.push(
          `${spec.taskId}: entry ${i + 1} ${stored[i]?.kind} at ${stored[i]?.at}, rebuilt ${rebuilt[i]?.at}`,
        );
    }),
  );
  expect(differing).toEqual([]);
});
