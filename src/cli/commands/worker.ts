import type { LoadedConfig } from '../../config/load';
import { runWorkers } from '../../runtime/localStack';
import { getLogger } from '../../runtime/logger';
import { installTemporalRuntime } from '../../runtime/temporalRuntime';
import { defineCommand, say, UsageError } from '../command';
import { mcpStatusLines, modelProgressPrinter } from '../format';
import { reaching, requireServer } from '../session';

export const worker = defineCommand({
  name: 'worker',
  synopsis: '[--no-compute]',
  summary: 'a worker for the steward queue (and the configured compute nodes)',
  details: 'Runs against TEMPORAL_ADDRESS, else a running `steward dev`. Ctrl-C stops it.',
  options: {
    'no-compute': { type: 'boolean', description: "do not run the compute nodes' workers" },
  },
  run: ({ config, options }) => runWorkerProcess(config, { computeNodes: !options['no-compute'] }),
});

/** Runs the workers until SIGINT or SIGTERM; `onlyNode` runs that compute node's worker alone. */
export async function runWorkerProcess(
  config: LoadedConfig,
  { computeNodes = true, onlyNode }: { computeNodes?: boolean; onlyNode?: string },
): Promise<number> {
  const server = requireServer(config);
  installTemporalRuntime(getLogger());
  let nodeConfig = config;
  if (onlyNode) {
    const node = config.computeNodes.find((n) => n.id === onlyNode);
    if (!node)
      throw new UsageError(
        `no compute node ${onlyNode} in config (${config.computeNodes.map((n) => n.id).join(', ')})`,
      );
    nodeConfig = { ...config, computeNodes: [node] };
  }
  const workers = await reaching(
    server,
    runWorkers(nodeConfig, server.address, getLogger(), {
      onModelProgress: modelProgressPrinter(),
      computeNodes,
      stewardQueue: !onlyNode,
    }),
  );
  for (const line of mcpStatusLines(workers.mcpServers)) say(line);
  say(`worker running against ${server.address}; Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await workers.stop();
  return 0;
}
