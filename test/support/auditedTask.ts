import type { AgentDefinition } from '../../src/agents/definition';
import { eventually, type Harness } from './harness';

/** The audit tests' agent: a read, then a write that the harness's policy sends for approval. */
export const auditedWriter: AgentDefinition = {
  name: 'test-audited-writer',
  description: 'reads, then writes once approved',
  instructions: 'Read, then write what you are asked to.',
  tools: ['read_file', 'write_file'],
};

/** Scripts the model: read in.txt, write `path`, finish. */
export function scriptReadThenWrite(h: Harness, path: string): void {
  h.writeWorkspaceFile('in.txt', 'hello');
  h.mock.reply(
    { tool: 'read_file', args: { path: 'in.txt' } },
    { tool: 'write_file', args: { path, content: 'x' } },
    { tool: 'finish', args: { result: `wrote ${path}` } },
  );
}

/** Waits for the task's approval request, then approves it as alice. */
export async function approveWhenAsked(h: Harness, taskId: string): Promise<void> {
  await eventually(async () => (await h.client.state(taskId)).pendingApproval, 'approval');
  await h.client.decide(taskId, { identity: 'alice', decision: 'approve' });
}
