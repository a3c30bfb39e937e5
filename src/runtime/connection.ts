import {
  checkServerIdentity,
  connect as tlsConnect,
  type ConnectionOptions as TlsOptions,
  type PeerCertificate,
} from 'node:tls';
import { Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { StewardError } from '../errors';
import { registerSecret } from '../shared/secrets';

/**
 * How every Steward process connects to Temporal: a Temporal client profile, read with
 * `@temporalio/envconfig` as the Temporal CLI and SDKs read it. The profile comes from a TOML file
 * (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; profile TEMPORAL_PROFILE, else
 * "default") and environment variables over it: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA, TEMPORAL_TLS_CLIENT_KEY_PATH/
 * _DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*.
 *
 * The address itself is chosen by the caller (TEMPORAL_ADDRESS or steward.yaml, else a running
 * `steward dev`); the profile's TLS, API key and metadata apply when the profile is for that address
 * (or names none). A `steward dev` server on this machine is then reached in plain text even where
 * a profile for a remote cluster is set.
 */

/** A connection that the server refused for a reason the settings can fix (TLS, certificates, key). */
export class TemporalConnectionRefused extends StewardError {}

/** The Temporal client profile (TOML file, TEMPORAL_* variables) cannot be read. */
export class TemporalProfileError extends StewardError {}

export interface ConnectionSettings {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** The profile: TOML file and environment, as envconfig reads them. */
export function temporalProfile(env: NodeJS.ProcessEnv = process.env): ClientConnectConfig & {
  namespace?: string;
} {
  try {
    return loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    throw new TemporalProfileError(`the Temporal client profile cannot be read: ${(err as Error).message}`, {
      cause: err,
      hint: 'check TEMPORAL_CONFIG_FILE / ~/.config/temporalio/temporal.toml, TEMPORAL_PROFILE and the TEMPORAL_TLS_* variables',
    });
  }
}

/** The settings to reach `address` with: the profile's TLS, API key and metadata if it is for that address. */
export function connectionSettings(
  address: string,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionSettings {
  const { connectionOptions: profile } = temporalProfile(env);
  if (profile.address && profile.address !== address) return { address };
  registerSecret(profile.apiKey as string | undefined); // scrubbed from every log line and error
  return {
    address,
    ...(profile.tls !== undefined && profile.tls !== null ? { tls: profile.tls } : {}),
    ...(typeof profile.apiKey === 'string' ? { apiKey: profile.apiKey } : {}),
    ...(profile.metadata ? { metadata: profile.metadata as Record<string, string> } : {}),
  };
}

/**
 * A client connection (starting, querying, deciding tasks). A refusal says what to set, after about
 * a second: the gRPC client itself would only give up at its deadline (10 s), saying no more than
 * that it could not connect, so a TLS handshake probes the server once the connection is slow.
 */
export async function connectClient(
  address: string,
  options: { env?: NodeJS.ProcessEnv; connectTimeout?: number; settings?: ConnectionSettings } = {},
): Promise<Connection> {
  const settings = options.settings ?? connectionSettings(address, options.env);
  const connecting = Connection.connect({ ...settings, connectTimeout: options.connectTimeout });
  let timer: NodeJS.Timeout | undefined;
  const refusedEarly = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void explainRefusal(settings, undefined).then((refusal) => refusal && reject(refusal));
    }, 1000);
  });
  try {
    return await Promise.race([connecting, refusedEarly]);
  } catch (err) {
    if (err instanceof TemporalConnectionRefused) {
      connecting.then(
        (c) => c.close(),
        () => undefined,
      ); // it will not succeed; let it go quietly
      throw err;
    }
    throw (await explainRefusal(settings, err)) ?? err;
  } finally {
    clearTimeout(timer);
  }
}

/** A worker's connection (polling task queues). A refusal says what to set. */
export async function connectWorker(
  address: string,
  options: { env?: NodeJS.ProcessEnv; settings?: ConnectionSettings } = {},
): Promise<NativeConnection> {
  const settings = options.settings ?? connectionSettings(address, options.env);
  try {
    return await NativeConnection.connect(settings);
  } catch (err) {
    throw (await explainRefusal(settings, err)) ?? err;
  }
}

type Probe = { ok: true } | { ok: false; code: string; message: string };

/**
 * One TLS handshake with the server, as the connection would make it, to learn why a connection
 * failed: a gRPC client only says it could not connect by the deadline. TLS 1.3 servers report a
 * missing or refused client certificate in an alert right after the handshake, so the probe
 * listens a moment longer.
 */
function probeTls(host: string, port: number, options: TlsOptions): Promise<Probe> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Probe) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      socket.destroy();
      resolve(result);
    };
    const socket = tlsConnect({ host, port, ALPNProtocols: ['h2'], ...options });
    const overall = setTimeout(() => done({ ok: false, code: 'TIMEOUT', message: 'no answer' }), 5000);
    socket.once('secureConnect', () => setTimeout(() => done({ ok: true }), 500));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done({ ok: false, code: err.code ?? '', message: err.message }),
    );
  });
}

const buffer = (bytes: Uint8Array | undefined): Buffer | undefined =>
  bytes ? Buffer.from(bytes) : undefined;

function hostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  return match ? { host: match[1]!, port: Number(match[2]) } : { host: address, port: 7233 };
}

const TLS_VARS = 'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH';

/** A TemporalConnectionRefused saying what is wrong with the TLS settings, when that is why. */
export async function explainRefusal(
  settings: ConnectionSettings,
  cause: unknown,
): Promise<Error | undefined> {
  const { host, port } = hostPort(settings.address);
  const refused = (message: string, hint: string) =>
    new TemporalConnectionRefused(
      `the Temporal server at ${settings.address} refused the connection: ${message}`,
      {
        cause,
        hint,
      },
    );
  if (!settings.tls) {
    // Plain text: does the server speak TLS?
    const probe = await probeTls(host, port, { rejectUnauthorized: false });
    if (probe.ok || /ALERT_CERTIFICATE_REQUIRED|alert/i.test(probe.code)) {
      return refused(
        'it requires TLS and this connection used plain text',
        `set TEMPORAL_TLS=true with TEMPORAL_TLS_SERVER_CA_CERT_PATH and, for mutual TLS, ${TLS_VARS} (or a profile in temporal.toml), or TEMPORAL_API_KEY for an API key`,
      );
    }
    return undefined;
  }
  const tls = settings.tls === true ? {} : settings.tls;
  const probe = await probeTls(host, port, {
    servername: tls.serverNameOverride ?? (/^[\d.:]+$/.test(host) ? undefined : host),
    ca: buffer(tls.serverRootCACertificate),
    cert: buffer(tls.clientCertPair?.crt),
    key: buffer(tls.clientCertPair?.key),
    // with an override, the certificate is checked against that name (not the address)
    ...(tls.serverNameOverride
      ? {
          checkServerIdentity: (_h: string, cert: PeerCertificate) =>
            checkServerIdentity(tls.serverNameOverride!, cert),
        }
      : {}),
  });
  if (probe.ok) return undefined;
  if (/CERTIFICATE_REQUIRED/.test(probe.code) || /certificate required/i.test(probe.message)) {
    return refused(
      'it requires a client certificate (mutual TLS) and this connection presented none',
      `set ${TLS_VARS} (or client_cert_path and client_key_path in the profile's tls section)`,
    );
  }
  if (/BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|DECRYPT_ERROR/.test(probe.code)) {
    return refused(
      `it did not accept this connection's client certificate (${probe.code})`,
      'use a client certificate signed by a CA the server trusts (its clientCaFiles)',
    );
  }
  if (
    /UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_HAS_EXPIRED|ALTNAME/.test(
      probe.code,
    )
  ) {
    return refused(
      `its certificate does not check out (${probe.code}: ${probe.message})`,
      'set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it, and TEMPORAL_TLS_SERVER_NAME to the name it carries',
    );
  }
  if (/EPROTO|WRONG_VERSION_NUMBER|ECONNRESET/.test(probe.code)) {
    return refused(
      'this connection used TLS and the server answered in plain text',
      'unset TEMPORAL_TLS (and the TEMPORAL_TLS_* settings) for this server, or turn TLS on at the server',
    );
  }
  return undefined;
}
