import type { AgentDefinition } from './definition';

/**
 * A free agent: the model chooses every action. It needs a model that calls tools well, which the
 * embedded 135M model does not; `steward run` says so before it starts.
 */
export const fileAssistant: AgentDefinition = {
  name: 'file-assistant',
  description: 'Answers a request about the workspace by reading, listing and writing files as it sees fit.',
  instructions:
    'You are a careful assistant working in a folder of files. Use the tools to do what the user asks.',
  tools: ['list_files', 'read_file', 'write_file', 'text_stats'],
  defaultInput: 'List the files in notes and tell me what they are about.',
  limits: { maxSteps: 12, maxOutputTokens: 512 },
  minimumModel: { parametersB: 7, why: 'it lets the model choose tools and arguments freely' },
};
