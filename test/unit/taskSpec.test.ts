import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry } from '../../src/agents';
import { notesDigest } from '../../src/agents/notesDigest';
import { parseConfig } from '../../src/config/load';
import { policyHash, resolveTaskSpec, TaskRefused } from '../../src/policies/taskSpec';
import { DEFAULT_DATA_BOUNDARIES } from '../../src/policies/evaluate';
import { builtinTools } from '../../src/tools/builtin';
import { ToolRegistry } from '../../src/tools/registry';

const dir = mkdtempSync(join(tmpdir(), 'steward-taskspec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tools = () => new ToolRegistry().register(...builtinTools({ workspace: dir, httpAllowlist: [] }));
const config = () =>
  parseConfig(
    { policy: { approval: { approvers: ['alice'] } }, limits: { budgetUsd: 0.5, maxSteps: 6 } },
    'config',
    dir,
  );
const resolve = (request: unknown, registry = tools()) =>
  resolveTaskSpec(config(), new AgentRegistry(), registry, 'task-1', request);

function refusal(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TaskRefused);
    return err as Error;
  }
  throw new Error('expected the request to be refused');
}

describe('resolveTaskSpec: the worker decides what a task may do', () => {
  test('a request names the agent; tools, policy, limits and routes come from the worker', () => {
    const spec = resolve({
      agent: 'notes-digest',
      input: { file: 'in.md', out: 'out.md' },
      principal: 'bob',
      narrow: { limits: { maxSteps: 5 } },
    });
    expect(spec.taskId).toBe('task-1');
    expect(spec.input).toEqual({ file: 'in.md', out: 'out.md' });
    expect(spec.agent.tools.map((t) => t.name)).toEqual(['read_file', 'text_stats', 'write_file']);
    expect(spec.agent.tools.find((t) => t.name === 'text_stats')!.placement).toBe('compute');
    expect(spec.policy.approval!.approvers).toEqual(['alice']);
    expect(spec.policy.dataBoundaries).toEqual(DEFAULT_DATA_BOUNDARIES);
    expect(spec.policyHash).toBe(policyHash(spec.policy));
    expect(spec.policyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec); // plain data: survives a JSON round trip
  });

  test('the stricter of config, agent and request wins for every limit', () => {
    // config: maxSteps 6, budget 0.5; agent: maxSteps 8, maxOutputTokens 120; request: maxSteps 5
    const spec = resolve({ agent: 'notes-digest', principal: 'bob', narrow: { limits: { maxSteps: 5 } } });
    expect(spec.limits).toMatchObject({ maxSteps: 5, budgetUsd: 0.5, maxOutputTokens: 120 });
    // an operator's limit lower than the agent's holds (the agent's 8 steps do not win over 6)
    expect(resolve({ agent: 'notes-digest', principal: 'bob' }).limits.maxSteps).toBe(6);
  });

  test('a request that would widen a limit is refused, naming the limit', () => {
    const err = refusal(() =>
      resolve({ agent: 'notes-digest', principal: 'bob', narrow: { limits: { budgetUsd: 5 } } }),
    );
    expect(err.message).toBe('narrow.limits.budgetUsd 5 would widen the task: the most allowed is 0.5');
  });

  test('a request can only narrow the tools to a subset of the agent’s', () => {
    const spec = resolve({
      agent: 'notes-digest',
      principal: 'bob',
      narrow: { tools: ['read_file', 'text_stats'] },
    });
    expect(spec.agent.tools.map((t) => t.name)).toEqual(['read_file', 'text_stats']);
    const err = refusal(() =>
      resolve({ agent: 'notes-digest', principal: 'bob', narrow: { tools: ['http_post'] } }),
    );
    expect(err.message).toContain('narrow.tools names http_post');
  });

  test('rules, approvers, routes or a whole agent in the request are refused, not merged', () => {
    const err = refusal(() =>
      resolve({
        agent: 'notes-digest',
        principal: 'bob',
        policy: { rules: [{ id: 'allow-all', decision: 'allow' }] },
      }),
    );
    expect(err.message).toContain('start request is invalid');
    expect(err.message).toContain('policy');
    const whole = refusal(() => resolve({ agent: { name: 'x', tools: [] }, principal: 'bob' }));
    expect(whole.message).toMatch(/agent: /);
  });

  test('an unknown agent is refused with the agents this worker runs', () => {
    const err = refusal(() => resolve({ agent: 'root-shell', principal: 'bob' }));
    expect(err.message).toBe('unknown agent root-shell; this worker runs: notes-digest, file-assistant');
  });

  test('the agent’s default input is used when none is given', () => {
    expect(resolve({ agent: 'notes-digest', principal: 'bob' }).input).toEqual(notesDigest.defaultInput);
  });

  test('input is validated with the agent’s zod schema and the bad field is named', () => {
    const err = refusal(() =>
      resolve({ agent: 'notes-digest', input: { file: '', out: 'x.md' }, principal: 'bob' }),
    );
    expect(err.message).toContain('input for agent notes-digest is invalid');
    expect(err.message).toMatch(/^\s+file: /m);
    const extra = refusal(() =>
      resolve({ agent: 'notes-digest', input: { file: 'a', out: 'b', rm: true }, principal: 'bob' }),
    );
    expect(extra.message).toMatch(/rm/);
  });

  test('a principal must be short printable text', () => {
    expect(refusal(() => resolve({ agent: 'notes-digest', principal: '' })).message).toMatch(/principal/);
    expect(refusal(() => resolve({ agent: 'notes-digest', principal: 'x'.repeat(201) })).message).toMatch(
      /principal/,
    );
    expect(refusal(() => resolve({ agent: 'notes-digest', principal: 'bob\nalice' })).message).toMatch(
      /principal must be printable text/,
    );
  });

  test('an agent naming a tool this worker does not have is refused', () => {
    const registry = new ToolRegistry().register(
      ...builtinTools({ workspace: dir, httpAllowlist: [] }).filter((t) => t.name !== 'text_stats'),
    );
    const err = refusal(() => resolve({ agent: 'notes-digest', principal: 'bob' }, registry));
    expect(err.message).toMatch(/unknown tool text_stats/);
  });
});
