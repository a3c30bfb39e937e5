import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { resolveTaskSpec, TaskRefused } from '../../src/policies/taskSpec';
import { ConfigError, loadConfig } from '../../src/config/load';
import { agentCatalog, agentRegistry, toolRegistry } from '../../src/runtime/localStack';

let dir: string;
const saved = { ...process.env };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-agents-'));
  for (const k of ['STEWARD_CONFIG', 'STEWARD_DATA_DIR', 'TEMPORAL_ADDRESS']) delete process.env[k];
});
afterEach(() => {
  process.env = { ...saved };
  rmSync(dir, { recursive: true, force: true });
});

/** Writes steward.yaml (and other files) into the test's directory and loads it. */
function load(config: unknown, files: Record<string, unknown> = {}) {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), typeof content === 'string' ? content : stringify(content));
  }
  writeFileSync(join(dir, 'steward.yaml'), stringify(config));
  return loadConfig(join(dir, 'steward.yaml'));
}

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

const summarize = {
  name: 'summarize',
  description: 'Summarises a file',
  instructions: 'Be brief.',
  tools: ['read_file', 'write_file'],
  inputSchema: {
    type: 'object',
    properties: { path: { type: 'string', minLength: 1 }, out: { type: 'string' } },
    required: ['path', 'out'],
    additionalProperties: false,
  },
  defaultInput: { path: 'notes.md', out: 'summary.md' },
  limits: { maxSteps: 4 },
  plan: [
    { id: 'read', kind: 'tool', tool: 'read_file', input: { path: '{{input.path}}' } },
    { id: 'draft', kind: 'draft', prompt: 'Summarise:\n{{steps.read.output.text}}' },
    {
      id: 'write',
      kind: 'tool',
      tool: 'write_file',
      input: { path: '{{input.out}}', content: '{{steps.draft.text}}' },
    },
    { id: 'done', kind: 'finish', result: 'Wrote {{input.out}}' },
  ],
};

describe('agents in configuration', () => {
  test('an agent in steward.yaml and agents in included files join the registry, each with where it came from', () => {
    const config = load(
      { agentFiles: ['agents/*.yaml'], agents: [summarize] },
      {
        'agents/one.yaml': { ...summarize, name: 'one', plan: undefined },
        'agents/two.yaml': [
          { name: 'two-a', description: 'a', instructions: 'a', tools: ['list_files'] },
          { name: 'two-b', description: 'b', instructions: 'b' },
        ],
        'agents/ignored.txt': 'not yaml: [',
      },
    );
    const catalog = agentCatalog(config).map(({ agent, from }) => [agent.name, from]);
    expect(catalog).toEqual([
      ['notes-digest', 'built-in'],
      ['file-assistant', 'built-in'],
      ['summarize', join(dir, 'steward.yaml')],
      ['one', expect.stringMatching(/agents\/one\.yaml$/)],
      ['two-a', expect.stringMatching(/agents\/two\.yaml$/)],
      ['two-b', expect.stringMatching(/agents\/two\.yaml$/)],
    ]);
    expect(agentRegistry(config).get('two-b').tools).toEqual([]);
  });

  test('a configured agent resolves like a built-in: its JSON Schema checks the input, its limits narrow', () => {
    const config = load({ agents: [summarize], limits: { maxSteps: 10 } });
    const resolve = (input: unknown) =>
      resolveTaskSpec(config, agentRegistry(config), toolRegistry(config), 't-1', {
        agent: 'summarize',
        principal: 'alice',
        input,
      });
    const spec = resolve({ path: 'a.md', out: 'b.md' });
    expect(spec.agent.tools.map((t) => t.name)).toEqual(['read_file', 'write_file']);
    expect(spec.agent.plan).toHaveLength(4);
    expect(spec.limits.maxSteps).toBe(4);
    expect(resolve(undefined).input).toEqual(summarize.defaultInput);
    expect(() => resolve({ path: '', out: 'b.md' })).toThrow(TaskRefused);
    expect(() => resolve({ path: 'a.md', out: 'b.md', extra: 1 })).toThrow(/input for agent summarize/);
  });

  test('a plan step naming a tool the agent is not granted is refused, naming the file and the path', () => {
    const bad = { ...summarize, tools: ['read_file'] };
    const message = problemOf(() => load({ agents: [bad] }));
    expect(message).toContain(`${join(dir, 'steward.yaml')} is invalid:`);
    expect(message).toContain(
      "agents[0].plan[2].tool: tool write_file is not in the agent's tools (read_file)",
    );
  });

  test('a template naming a missing or later step, or an input field the schema lacks, is refused with its path', () => {
    const plan = [
      { id: 'read', kind: 'tool', tool: 'read_file', input: { path: '{{steps.later.output.text}}' } },
      { id: 'later', kind: 'draft', prompt: '{{input.nope}} {{steps.read.text}}' },
      { id: 'done', kind: 'finish', result: '{{steps.later.output}} {{env.HOME}}' },
    ];
    const message = problemOf(() => load({ agents: [{ ...summarize, plan }] }));
    expect(message).toContain(
      'agents[0].plan[0].input.path: {{steps.later.output.text}} refers to step later, which has not run before it',
    );
    expect(message).toContain(
      'agents[0].plan[1].prompt: {{input.nope}}: the input schema has no property nope (it has path, out)',
    );
    expect(message).toContain(
      'agents[0].plan[1].prompt: {{steps.read.text}}: a tool step gives {{steps.read.output}}, not .text',
    );
    expect(message).toContain(
      'agents[0].plan[2].result: {{steps.later.output}}: a draft step gives {{steps.later.text}}, not .output',
    );
    expect(message).toContain(
      'agents[0].plan[2].result: {{env.HOME}} refers to env, which is not input or steps',
    );
  });

  test('problems in an included file name that file and the path inside it', () => {
    const plan = [
      { id: 'read', kind: 'tool', tool: 'read_file', input: { path: 'x' } },
      { id: 'read', kind: 'finish', result: 'done' },
      { id: 'after', kind: 'finish', result: 'done' },
    ];
    const message = problemOf(() =>
      load({ agentFiles: ['agents/*.yaml'] }, { 'agents/bad.yaml': { ...summarize, plan } }),
    );
    expect(message).toMatch(/agents\/bad\.yaml is invalid:/);
    expect(message).toContain('plan[1].id: the step id read is used twice');
    expect(message).toContain('plan[1].kind: finish must be the last step');
    expect(message).not.toContain('steward.yaml is invalid');
  });

  test('malformed entries are refused with their field named, in steward.yaml and in files', () => {
    expect(problemOf(() => load({ agents: [{ name: 'x', instructions: 'y' }] }))).toContain(
      'agents[0].description:',
    );
    expect(
      problemOf(() => load({ agents: [{ ...summarize, plan: [{ id: 'a', kind: 'shell', cmd: 'rm' }] }] })),
    ).toContain('agents[0].plan[0].kind');
    expect(problemOf(() => load({ agents: [{ ...summarize, limits: { maxSteps: 1e9 } }] }))).toContain(
      'agents[0].limits.maxSteps',
    );
    const inFile = problemOf(() =>
      load(
        { agentFiles: ['a.yaml', 'b.yaml'] },
        { 'a.yaml': [summarize, { ...summarize, tools: 'read_file' }], 'b.yaml': 'a: [' },
      ),
    );
    expect(inFile).toMatch(/a\.yaml is invalid:\n {2}\[1\]\.tools: /);
    expect(inFile).toMatch(/b\.yaml is invalid:\n {2}\(top level\): not valid YAML/);
  });

  test('an input schema zod cannot represent, or a default input that breaks it, is refused', () => {
    const conditional = { ...summarize, inputSchema: { if: { type: 'string' }, then: { minLength: 2 } } };
    expect(problemOf(() => load({ agents: [conditional] }))).toContain(
      'agents[0].inputSchema: zod cannot represent this JSON Schema: Conditional schemas (if/then/else) are not supported',
    );
    const external = { ...summarize, inputSchema: { $ref: 'https://example.com/schema.json' } };
    expect(problemOf(() => load({ agents: [external] }))).toContain(
      'agents[0].inputSchema: zod cannot represent',
    );
    const wrongDefault = { ...summarize, defaultInput: { path: 3, out: 'x' } };
    expect(problemOf(() => load({ agents: [wrongDefault] }))).toContain('agents[0].defaultInput.path:');
  });

  test('a name used twice, or by a built-in agent, and a pattern that matches nothing are refused', () => {
    expect(problemOf(() => load({ agents: [{ ...summarize, name: 'notes-digest' }] }))).toContain(
      'agents[0].name: agent notes-digest is already defined (a built-in agent)',
    );
    const twice = problemOf(() =>
      load({ agents: [summarize], agentFiles: ['s.yaml'] }, { 's.yaml': summarize }),
    );
    expect(twice).toMatch(
      /s\.yaml is invalid:\n {2}name: agent summarize is already defined \(.*steward\.yaml agents\[0\]\)/,
    );
    expect(problemOf(() => load({ agentFiles: ['agents/*.yml'] }))).toContain(
      'agentFiles[0]: agents/*.yml matches no file',
    );
  });

  test('a program agent with the name of a configured one is refused when the worker builds its registry', () => {
    const config = load({ agents: [summarize] });
    expect(() =>
      agentRegistry(config, [{ name: 'summarize', description: 'd', instructions: 'i', tools: [] }]),
    ).toThrow(/agent summarize is defined twice: .*steward\.yaml and program/);
  });
});
