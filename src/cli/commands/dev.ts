import { startFrontDoor, type FrontDoorServer } from '../../api';
import { currentUser } from '../../config/load';
import { portOrFree } from '../../runtime/devServer';
import {
  findServer,
  runWorkers,
  startEmbeddedServer,
  stopOrphanedServer,
  type Workers,
} from '../../runtime/localStack';
import { getLogger } from '../../runtime/logger';
import { installTemporalRuntime } from '../../runtime/temporalRuntime';
import { defineCommand, note, portOption, say, UsageError } from '../command';
import { mcpStatusLines, modelProgressPrinter } from '../format';

export const dev = defineCommand({
  name: 'dev',
  synopsis: '[--port N] [--ui-port N] [--api-port N]',
  summary: 'embedded Temporal server + worker + compute node + API and review lane; prints their addresses',
  details:
    'State is kept in the data directory (temporal.db). Ctrl-C stops the workers, then the server;\n' +
    'a second Ctrl-C ends the process at once.',
  options: {
    port: { type: 'string', value: 'N', description: "the server's port (default 7233, else a free one)" },
    'ui-port': { type: 'string', value: 'N', description: "the UI's port (default 8233, else a free one)" },
    'api-port': {
      type: 'string',
      value: 'N',
      description: 'the API and review lane (default api.port, 8787, else a free one)',
    },
  },
  async run({ config, options }) {
    // A steward killed with -9 may have left its server on 7233/8233 and the SQLite file: free them first.
    await stopOrphanedServer(config, note);
    if (findServer(config)?.embedded)
      throw new UsageError('steward dev is already running for this data directory');
    // Listen before the Temporal Runtime does: it takes SIGINT/SIGTERM to stop its workers, and one that
    // arrives during start-up would otherwise be swallowed. Until everything is up a signal ends the
    // process at once, and the server's watchdog stops the server.
    let onSignal = (signal: NodeJS.Signals): void => process.exit(signal === 'SIGINT' ? 130 : 143);
    const listener = (signal: NodeJS.Signals): void => onSignal(signal);
    process.on('SIGINT', listener).on('SIGTERM', listener);
    installTemporalRuntime(getLogger());
    const server = await startEmbeddedServer(config, {
      port: portOption(options.port, 'port') ?? (await portOrFree(7233, moved(7233, 'the server'))),
      uiPort: portOption(options['ui-port'], 'ui-port') ?? (await portOrFree(8233, moved(8233, 'the UI'))),
      report: note,
      exitOnSignal: false, // dev stops its workers first, below
    });
    let workers: Workers | undefined;
    let door: FrontDoorServer | undefined;
    try {
      workers = await runWorkers(config, server.address, getLogger(), {
        onModelProgress: modelProgressPrinter(),
      });
      say(`Temporal server: ${server.address} (namespace ${config.temporal.namespace})`);
      say(`Temporal UI:     ${server.uiUrl}`);
      door = await startFrontDoor(config, {
        address: server.address,
        uiUrl: server.uiUrl,
        logger: getLogger(),
        port:
          portOption(options['api-port'], 'api-port') ??
          (config.api.port === 0
            ? 0
            : await portOrFree(config.api.port, moved(config.api.port, 'the API and review lane'))),
        devUser: currentUser(),
      });
      say(`Steward API:     ${door.url}/v1 (OpenAPI: ${door.url}/openapi.json)`);
      say(`Review lane:     ${door.url}/ui/`);
      if (door.devToken)
        say(
          `  no api.tokens configured: sign in as ${door.devToken.identity} with ${door.devToken.token} (valid until steward dev stops)`,
        );
      say(
        `Worker on task queue "${config.temporal.taskQueue}", compute nodes: ${config.computeNodes.map((n) => n.id).join(', ')}`,
      );
      for (const line of mcpStatusLines(workers.mcpServers)) say(line);
      say('Run a task in another terminal: steward run notes-digest   (Ctrl-C here stops everything)');
      await new Promise<void>((resolve) => {
        onSignal = () => resolve();
      });
      // A second signal takes the default action and ends the process; the watchdog stops the server.
      process.off('SIGINT', listener).off('SIGTERM', listener);
      note('stopping… (Ctrl-C again to force)');
    } finally {
      // the front door and workers first, so what they are doing can still reach the server
      try {
        await door?.close().catch(() => undefined);
        await workers?.stop();
      } finally {
        await server.stop();
      }
    }
    return 0;
  },
});

/** Announces a default port that was taken: "port 7233 is taken; the server listens on 7234". */
function moved(preferred: number, what: string): (port: number) => void {
  return (port) => note(`port ${preferred} is taken; ${what} listens on ${port}`);
}
