/**
 * The one way a command opens and closes its connection to Temporal: an existing server
 * (TEMPORAL_ADDRESS or config, else a running `steward dev`), or for dev and run an embedded one.
 */
import { ServiceError } from '@temporalio/client';
import { TransportError } from '@temporalio/worker';
import { StewardError } from '../errors';
import { StewardClient } from '../runtime/client';
import { startFrontDoor, type FrontDoorServer } from '../api';
import { currentUser, type LoadedConfig } from '../config/load';
import {
  auditStoreFor,
  blobStoreFor,
  findServer,
  installSigner,
  runWorkers,
  startEmbeddedServer,
  type Workers,
} from '../runtime/localStack';
import { getLogger } from '../runtime/logger';
import { installTemporalRuntime } from '../runtime/temporalRuntime';
import { note } from './command';
import { modelProgressPrinter } from './format';

/** No Temporal server to talk to, or none answering at the address. */
export class TemporalUnreachable extends StewardError {}

/** A session with a server: an existing one, or (for dev and run) an embedded one with its own worker. */
export interface Session {
  client: StewardClient;
  uiUrl?: string;
  close(): Promise<void>;
}

type Server = NonNullable<ReturnType<typeof findServer>>;

/** The server to use, or a TemporalUnreachable saying how to get one. */
export function requireServer(config: LoadedConfig): Server {
  const server = findServer(config);
  if (!server) {
    throw new TemporalUnreachable(
      `no Temporal server: TEMPORAL_ADDRESS is not set and no steward dev is running for ${config.dataDir}`,
      { hint: 'start one with `steward dev` (or set TEMPORAL_ADDRESS to host:port of a running server)' },
    );
  }
  return server;
}

/** Connects to the running server; a server that does not answer is one clear error. */
export async function connect(config: LoadedConfig): Promise<Session> {
  const server = requireServer(config);
  const client = await reaching(
    server,
    StewardClient.connect(
      server.address,
      config.temporal.namespace,
      config.temporal.taskQueue,
      blobStoreFor(config),
      installSigner(config),
      auditStoreFor(config),
      config.telemetry,
    ),
    () => true,
  );
  return { client, uiUrl: server.uiUrl, close: () => client.close() };
}

/** Starts the embedded server and the workers in this process, unless a server is already there. */
export async function connectOrEmbed(config: LoadedConfig): Promise<Session> {
  if (findServer(config)) return connect(config);
  note('Starting the embedded Temporal dev server and a worker in this process…');
  installTemporalRuntime(getLogger(), 'ERROR');
  const server = await startEmbeddedServer(config, { report: note });
  let workers: Workers | undefined;
  let door: FrontDoorServer | undefined;
  try {
    workers = await runWorkers(config, server.address, getLogger(), {
      onModelProgress: modelProgressPrinter(),
    });
    const client = await StewardClient.connect(
      server.address,
      config.temporal.namespace,
      config.temporal.taskQueue,
      blobStoreFor(config),
      installSigner(config),
      auditStoreFor(config),
      config.telemetry,
    );
    // the review lane comes up with the rest, so an approval can also be given in a browser
    door = await startFrontDoor(config, {
      address: server.address,
      uiUrl: server.uiUrl,
      logger: getLogger(),
      port: 0,
      devUser: currentUser(),
    });
    const signIn = door.devToken ? ` (sign in as ${door.devToken.identity} with ${door.devToken.token})` : '';
    note(`Review lane: ${door.url}/ui/${signIn}`);
    const started = door;
    return {
      client,
      uiUrl: server.uiUrl,
      async close() {
        await client.close();
        await started.close();
        await workers?.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await door?.close();
    await workers?.stop();
    await server.stop();
    throw err;
  }
}

/** Runs `use` with the session `open` gives, and closes it after, whatever happens. */
export async function withSession<T>(
  open: Promise<Session>,
  use: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await open;
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

/**
 * A failure to reach the server: the workers' native connection fails with a TransportError, a
 * client connection with a ServiceError or (no answer by the deadline) grpc-js's plain Error.
 */
export function isConnectionFailure(err: unknown): boolean {
  return (
    err instanceof TransportError ||
    err instanceof ServiceError ||
    (err instanceof Error && /^Failed to connect before the deadline/.test(err.message))
  );
}

/** `work`'s result, with a failure to reach the server turned into a TemporalUnreachable naming the address. */
export async function reaching<T>(
  server: Server,
  work: Promise<T>,
  connectionFailure: (err: unknown) => boolean = isConnectionFailure,
): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (!connectionFailure(err)) throw err;
    throw new TemporalUnreachable(
      `cannot reach the Temporal server at ${server.address}: ${connectionProblem(err)}`,
      {
        cause: err,
        hint: server.embedded
          ? 'the steward dev recorded in the data directory does not answer: restart `steward dev`'
          : 'check that the server is up and TEMPORAL_ADDRESS (or temporal.address in the config) names it; ' +
            '`steward dev` starts one on this machine',
      },
    );
  }
}

/** The part of a connection error a person reads: "Connection refused", not the transport's debug print. */
function connectionProblem(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const os = /message: "([^"]+)"/.exec(err.message)?.[1];
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return os ?? (cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message);
}
