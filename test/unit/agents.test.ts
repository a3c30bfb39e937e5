import { AgentRegistry, builtinAgents } from '../../src/agents';
import type { AgentDefinition } from '../../src/agents/definition';
import { placeholders } from '../../src/agents/template';
import { validateAgent } from '../../src/agents/validate';

const base: AgentDefinition = {
  name: 'a',
  description: 'd',
  instructions: 'i',
  tools: ['read_file', 'write_file'],
};

test('the built-in agents are valid and registered', () => {
  for (const agent of builtinAgents) expect(() => validateAgent(agent)).not.toThrow();
  expect(new AgentRegistry().list().map((a) => a.name)).toEqual(['notes-digest', 'file-assistant']);
});

test('placeholders are found in nested templates', () => {
  expect(placeholders({ a: 'x {{input.f}} y', b: ['{{ steps.r.output.text }}'], c: 3 })).toEqual([
    'input.f',
    'steps.r.output.text',
  ]);
});

test('a plan that uses a step before it runs, an ungranted tool, a repeated id or an early finish is refused', () => {
  const broken: AgentDefinition = {
    ...base,
    plan: [
      { id: 'w', kind: 'tool', tool: 'write_file', input: { path: 'x', content: '{{steps.d.text}}' } },
      { id: 'd', kind: 'draft', prompt: 'about {{inputs.topic}}' },
      { id: 'd', kind: 'tool', tool: 'http_post', input: {} },
      { id: 'pick', kind: 'decide', prompt: 'p', tools: ['delete_all'] },
      { id: 'end', kind: 'finish', result: 'done' },
      { id: 'after', kind: 'draft', prompt: 'p' },
    ],
  };
  let message = '';
  try {
    validateAgent(broken);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toContain(
    'plan step 1 (w): {{steps.d.text}} refers to step d, which has not run before it',
  );
  expect(message).toContain(
    'plan step 2 (d): {{inputs.topic}} refers to inputs, which is not input or steps',
  );
  expect(message).toContain('plan step 3 (d): the id d is used twice');
  expect(message).toContain("plan step 3 (d): tool http_post is not in the agent's tools");
  expect(message).toContain("plan step 4 (pick): tool delete_all is not in the agent's tools");
  expect(message).toContain('plan step 5 (end): finish must be the last step');
  expect(() => new AgentRegistry([broken])).toThrow(/agent a is invalid/);
});
