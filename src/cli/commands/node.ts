import { defineCommand, required } from '../command';
import { runWorkerProcess } from './worker';

export const node = defineCommand({
  name: 'node',
  synopsis: '--id ID',
  summary: 'a compute node worker only',
  details: 'Runs the worker of the compute node with that id in the config (computeNodes).',
  options: {
    id: { type: 'string', value: 'ID', description: 'the compute node to run' },
  },
  run: ({ config, options }) => runWorkerProcess(config, { onlyNode: required(options.id, 'id', 'node') }),
});
