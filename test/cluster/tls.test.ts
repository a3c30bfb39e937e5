import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { clusterDown, clusterUp, connectionEnv, type ClusterState } from '../../src/runtime/cluster';
import { makeClusterCertificates } from '../../src/runtime/cluster/tls';
import { StewardClient } from '../../src/runtime/client';
import { connectClient, connectWorker, TemporalConnectionRefused } from '../../src/runtime/connection';
import type { LedgerServer } from '../support/ledgerServer';
import { CLUSTER_TEST_CONFIG, HOOKS } from './support/clusterConfig';
import { resultOf, startLedger, taskId } from './support/clusterTest';

/**
 * A cluster of its own, with mutual TLS everywhere (certificates made here with openssl): the
 * server's services, the Steward worker and node (through the cluster's temporal.toml profile), and
 * the clients of this test (through environment variables, as envconfig reads them).
 */
let state: ClusterState;
let ledger: LedgerServer;
const env = (extra: Record<string, string> = {}): Record<string, string> => ({
  TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml', // no profile file: the variables alone
  TEMPORAL_ADDRESS: state.address,
  ...extra,
});

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-tls-cluster-'));
  ledger = await startLedger();
  state = await clusterUp({
    dir,
    workers: 1,
    nodes: [{ id: 'node-a', trust: 'local', pickupTimeoutSeconds: 3 }],
    tls: makeClusterCertificates(join(dir, 'tls')),
    config: CLUSTER_TEST_CONFIG,
    stewardCommand: [
      process.execPath,
      '--require',
      HOOKS,
      resolve(__dirname, '..', '..', 'bin', 'steward.js'),
    ],
    watchdog: true,
  });
});

afterAll(async () => {
  if (state) await clusterDown(state.dir, { purge: !process.env.STEWARD_KEEP_CLUSTER });
  await ledger?.stop();
});

test('with the CA and a client certificate, a task runs end to end over mutual TLS', async () => {
  const tls = state.tls!;
  const connection = await connectClient(state.address, {
    env: env({
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.caFile,
      TEMPORAL_TLS_SERVER_NAME: tls.serverName,
      TEMPORAL_TLS_CLIENT_CERT_PATH: tls.clientCertFile,
      TEMPORAL_TLS_CLIENT_KEY_PATH: tls.clientKeyFile,
    }),
  });
  const client = new StewardClient(new Client({ connection, namespace: state.namespace }), state.taskQueue);
  try {
    const id = taskId('mtls');
    await client.start({
      agent: 'cluster-charge',
      input: { url: ledger.url, holdMs: 0 },
      principal: 'tester',
      taskId: id,
    });
    expect(await resultOf(client, id)).toMatchObject({ status: 'completed' });
    expect(ledger.effects.size).toBe(1);
  } finally {
    await client.close();
  }
});

test('StewardClient.connect reads the profile file (temporal.toml) the cluster wrote', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, connectionEnv(state));
  try {
    const client = await StewardClient.connect(state.address, state.namespace, state.taskQueue);
    try {
      expect(await client.list(5)).toEqual(
        expect.arrayContaining([expect.objectContaining({ agent: 'cluster-charge' })]),
      );
    } finally {
      await client.close();
    }
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});

describe('a connection the server refuses says why', () => {
  test('no client certificate', async () => {
    const tls = state.tls!;
    const settings = env({
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.caFile,
      TEMPORAL_TLS_SERVER_NAME: tls.serverName,
    });
    for (const connect of [connectClient, connectWorker]) {
      const err = await connect(state.address, { env: settings }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TemporalConnectionRefused);
      expect((err as Error).message).toBe(
        `the Temporal server at ${state.address} refused the connection: it requires a client certificate (mutual TLS) and this connection presented none`,
      );
      expect((err as TemporalConnectionRefused).hint).toMatch(
        /TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
      );
    }
  });

  test('plain text', async () => {
    await expect(connectClient(state.address, { env: env() })).rejects.toThrow(
      /it requires TLS and this connection used plain text/,
    );
  });

  test('a server certificate from a CA the client was not given', async () => {
    const tls = state.tls!;
    await expect(
      connectWorker(state.address, {
        env: env({
          TEMPORAL_TLS: 'true',
          TEMPORAL_TLS_CLIENT_CERT_PATH: tls.clientCertFile,
          TEMPORAL_TLS_CLIENT_KEY_PATH: tls.clientKeyFile,
        }),
      }),
    ).rejects.toThrow(/its certificate does not check out/);
  });

  test('a client certificate the server does not trust', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'steward-other-ca-'));
    try {
      const other = makeClusterCertificates(otherDir);
      await expect(
        connectWorker(state.address, {
          env: env({
            TEMPORAL_TLS: 'true',
            TEMPORAL_TLS_SERVER_CA_CERT_PATH: state.tls!.caFile,
            TEMPORAL_TLS_SERVER_NAME: state.tls!.serverName,
            TEMPORAL_TLS_CLIENT_CERT_PATH: other.clientCertFile,
            TEMPORAL_TLS_CLIENT_KEY_PATH: other.clientKeyFile,
          }),
        }),
      ).rejects.toThrow(/did not accept this connection's client certificate/);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
