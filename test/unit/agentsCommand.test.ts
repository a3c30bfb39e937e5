import { builtinAgents } from '../../src/agents';
import { describeAgent } from '../../src/cli/commands/agents';
import { parseConfig } from '../../src/config/load';

const config = parseConfig({});
const agent = (name: string) => builtinAgents.find((a) => a.name === name)!;

test('notes-digest: its input schema with both fields required, its default input, its tools and plan', () => {
  const text = describeAgent(config, agent('notes-digest'), 'built-in').join('\n');
  expect(text).toContain('notes-digest (built-in)');
  const schema = JSON.parse(text.slice(text.indexOf('{'), text.indexOf('\n  default input')));
  expect(schema).toEqual({
    type: 'object',
    properties: { file: { type: 'string', minLength: 1 }, out: { type: 'string', minLength: 1 } },
    required: ['file', 'out'],
    additionalProperties: false,
  });
  expect(text).toContain('input that is given replaces it whole');
  expect(text).toContain('"file": "notes/meeting.md"');
  expect(text).toMatch(/text_stats +read +on a compute node/);
  expect(text).toMatch(/write_file +write +on the worker/);
  expect(text).toContain('plan: read (tool) → stats (tool) → draft (draft) → write (tool) → done (finish)');
});

test('an agent without a schema or a plan says so', () => {
  const text = describeAgent(config, agent('file-assistant'), 'built-in').join('\n');
  expect(text).toContain('any JSON value (no schema)');
  expect(text).toContain('plan: none (the model chooses each step)');
});

test('a tool this install does not offer is named as such', () => {
  const custom = {
    ...agent('notes-digest'),
    name: 'custom',
    tools: ['read_file', 'pay'],
    defaultInput: undefined,
  };
  const text = describeAgent(config, custom, 'agents/custom.yaml').join('\n');
  expect(text).toContain('custom (agents/custom.yaml)');
  expect(text).toContain('default input: none (a task must give its input)');
  expect(text).toMatch(/pay +not offered by this install/);
});
