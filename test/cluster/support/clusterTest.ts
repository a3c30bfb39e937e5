import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { blobsUrl, ClusterControl, connectToCluster, type ClusterState } from '../../../src/runtime/cluster';
import { StewardClient } from '../../../src/runtime/client';
import { BlobStore } from '../../../src/stores/blobStore';
import { PostgresBlobBackend } from '../../../src/stores/postgresBlobStore';
import { FileAuditStore, type AuditStore } from '../../../src/stores/auditStore';
import { PostgresAuditStore } from '../../../src/stores/postgresAuditStore';
import type { TaskResult } from '../../../src/workflows/contract';
import { LedgerServer } from '../../support/ledgerServer';

/** The cluster the project's setup started (its state file is in STEWARD_CLUSTER_DIR). */
export function cluster(): ClusterControl {
  const dir = process.env.STEWARD_CLUSTER_DIR;
  if (!dir) throw new Error('STEWARD_CLUSTER_DIR is not set: run with npm run test:cluster');
  return new ClusterControl(dir);
}

/** The blob store a client uses for the cluster's claim checks: the workers' own, in PostgreSQL. */
export function clientBlobStore(state: ClusterState): BlobStore {
  if (state.blobs === 'local') return new BlobStore(join(state.dir, 'steward', 'shared', 'blobs'));
  return new BlobStore(new PostgresBlobBackend(blobsUrl(state)));
}

/**
 * Where the cluster's workers write audit trails: PostgreSQL with the blobs, else the shared directory.
 * A client without it sees only the entries a task still holds, none once its trail is written out.
 */
export function clientAuditStore(state: ClusterState): AuditStore {
  if (state.blobs === 'local') return new FileAuditStore(join(state.dir, 'steward', 'shared', 'audit'));
  return new PostgresAuditStore(blobsUrl(state));
}

/** A Steward client connected to the cluster as a person's terminal or the API would be. */
export async function clusterClient(state: ClusterState = cluster().state): Promise<StewardClient> {
  const connection = await connectToCluster(state);
  return new StewardClient(
    new Client({ connection, namespace: state.namespace }),
    state.taskQueue,
    clientBlobStore(state),
    undefined,
    clientAuditStore(state),
  );
}

export function taskId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Waits for `probe` to return something other than undefined. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The first effect's body of each idempotency key, as the test tools send it. */
export type Effect = { id: number; body: { amount: number; pid: number; tool: string } };

export function effects(ledger: LedgerServer): Effect[] {
  return [...ledger.effects.values()] as Effect[];
}

/** The cluster process (worker-1, node-a, …) that has this pid, if any. */
export function processOf(pid: number): string | undefined {
  return cluster().state.processes.find((p) => p.pid === pid)?.name;
}

/**
 * The processes that took a task's workflow and activity tasks, from its history (an SDK worker's
 * identity is `pid@host`), by cluster process name.
 */
export async function processesThatRan(client: StewardClient, id: string): Promise<Set<string>> {
  const names = new Set<string>();
  const history = await client.handle(id).fetchHistory();
  for (const event of history.events ?? []) {
    const identity =
      event.workflowTaskStartedEventAttributes?.identity ??
      event.activityTaskStartedEventAttributes?.identity;
    const pid = identity ? Number(identity.split('@')[0]) : NaN;
    const name = Number.isFinite(pid) ? processOf(pid) : undefined;
    if (name) names.add(name);
  }
  return names;
}

export async function startLedger(): Promise<LedgerServer> {
  return new LedgerServer().start();
}

/**
 * A test file's client of the cluster and its ledger server: opened before the file's tests (handed
 * to `use`), closed after them.
 */
export function openClientAndLedger(
  use: (opened: { client: StewardClient; ledger: LedgerServer }) => void,
): void {
  let client: StewardClient | undefined;
  let ledger: LedgerServer | undefined;
  beforeAll(async () => {
    client = await clusterClient();
    ledger = await startLedger();
    use({ client, ledger });
  });
  afterAll(async () => {
    await client?.close();
    await ledger?.stop();
  });
}

/** A task's result, or why it did not come within `timeoutMs`. */
export async function resultOf(client: StewardClient, id: string, timeoutMs = 120_000): Promise<TaskResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.result(id),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`task ${id} did not end within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Puts every Steward process of the cluster back, so the next test file starts from the full topology. */
export async function restoreTopology(): Promise<void> {
  const control = cluster();
  for (const name of [...control.workers, ...control.nodes]) {
    if (!control.running(name)) await control.start(name);
  }
}
