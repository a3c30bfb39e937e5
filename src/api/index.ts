/**
 * Starting the front door for an install: its own Temporal client, the install's blob store, and the
 * identities of its config (plus, for `steward dev` with none configured, a one-time token for the
 * local user, kept in memory only).
 */
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load';
import { StewardClient } from '../runtime/client';
import { auditStoreFor, blobStoreFor, installSigner } from '../runtime/localStack';
import { newToken } from './auth';
import { startApiServer } from './server';

export { createApiServer, startApiServer, type ApiServer, type ApiServerOptions } from './server';
export { createAuthenticator, newToken, type Caller } from './auth';

export interface FrontDoorServer {
  url: string;
  /** Set when the config names nobody and `devUser` was given: shown once, valid while this runs. */
  devToken?: { identity: string; token: string };
  close(): Promise<void>;
}

export async function startFrontDoor(
  config: LoadedConfig,
  options: {
    address: string;
    uiUrl?: string;
    logger?: Logger;
    host?: string;
    port?: number;
    /** `steward dev`: with no tokens and no OIDC configured, make a one-time admin token for this user. */
    devUser?: string;
  },
): Promise<FrontDoorServer> {
  const nobody = config.api.tokens.length === 0 && !config.api.oidc;
  const dev = nobody && options.devUser ? { identity: options.devUser, ...newToken() } : undefined;
  const blobs = blobStoreFor(config);
  // Decisions and cancels are signed with this install's key, which its workers trust for anyone
  // (signsFor *): the front door signs only for the caller it authenticated. A front door on another
  // machine needs its key under the workers' signing.trustedKeys (steward keys show).
  const client = await StewardClient.connect(
    options.address,
    config.temporal.namespace,
    config.temporal.taskQueue,
    blobs,
    installSigner(config),
    auditStoreFor(config),
    config.telemetry,
  );
  try {
    const server = await startApiServer({
      config,
      client,
      blobs,
      temporalUiUrl: options.uiUrl,
      logger: options.logger,
      host: options.host,
      port: options.port,
      extraTokens: dev ? [{ identity: dev.identity, roles: ['admin'], sha256: dev.sha256, via: 'dev' }] : [],
    });
    return {
      url: server.url,
      ...(dev ? { devToken: { identity: dev.identity, token: dev.token } } : {}),
      async close() {
        try {
          await server.close();
        } finally {
          await client.close();
          await blobs.close();
        }
      },
    };
  } catch (err) {
    await client.close();
    await blobs.close();
    throw err;
  }
}
