import { startFrontDoor } from '../../api';
import { createAuthenticator } from '../../api/auth';
import { getLogger } from '../../runtime/logger';
import { defineCommand, portOption, say, UsageError } from '../command';
import { reaching, requireServer } from '../session';

export const serve = defineCommand({
  name: 'serve',
  synopsis: '[--host HOST] [--port N]',
  summary: 'the HTTP API and the review lane, for a running server',
  details:
    'Runs against TEMPORAL_ADDRESS, else a running `steward dev` (which serves them itself). Callers\n' +
    'sign in with a token from api.tokens (steward tokens create) or a JWT of api.oidc. Ctrl-C stops it.',
  options: {
    host: {
      type: 'string',
      value: 'HOST',
      description: 'the address to listen on (default api.host, 127.0.0.1)',
    },
    port: {
      type: 'string',
      value: 'N',
      description: 'the port (default api.port, 8787; 0 for any free one)',
    },
  },
  async run({ config, options }) {
    if (!createAuthenticator(config.api).configured)
      throw new UsageError('nobody could sign in: steward.yaml has no api.tokens and no api.oidc', {
        hint: 'create a token with `steward tokens create <identity> --role approver` and paste its line under api.tokens',
      });
    const server = requireServer(config);
    const door = await reaching(
      server,
      startFrontDoor(config, {
        address: server.address,
        uiUrl: server.uiUrl,
        logger: getLogger(),
        host: options.host,
        port: options.port === '0' ? 0 : portOption(options.port, 'port'),
      }),
    );
    say(`Steward API:  ${door.url}/v1   (OpenAPI: ${door.url}/openapi.json)`);
    say(`Review lane:  ${door.url}/ui/`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await door.close();
    return 0;
  },
});
