/**
 * Starting one process of a cluster and waiting until it serves: the Temporal server's namespace,
 * a Steward worker or node. Used by up.ts (the first start) and control.ts (a restart), which is why
 * it is neither of them.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { msToTs } from '@temporalio/common/lib/time';
import { STEWARD_SEARCH_ATTRIBUTES } from '../../workflows/searchAttributes';
import { isRunning } from '../watchdog';
import { startDetached, waitFor, type ProcessRecord } from './processes';
import {
  blobsUrl,
  connectionEnv,
  connectToCluster,
  logFile,
  watched,
  type ClusterState,
  type StewardProcessSpec,
} from './state';

/** Waits until the frontend answers; then registers the namespace and Steward's search attributes. */
export async function prepareNamespace(state: ClusterState, server: ProcessRecord): Promise<void> {
  const connection = await waitFor(
    'the Temporal server did not answer',
    async () => {
      const c = await connectToCluster(state, 1000);
      try {
        await c.workflowService.getSystemInfo({});
        return c;
      } catch (err) {
        await c.close();
        throw err;
      }
    },
    { timeoutMs: 60_000, intervalMs: 100, alive: () => isRunning(server.pid), log: server.log },
  );
  try {
    const { namespace } = state;
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
    } catch (err) {
      if (!/already exists|AlreadyExists/i.test(String(err))) throw err;
    }
    // The namespace is not in every service's cache at once; retry until adding attributes works.
    await waitFor(
      `search attributes could not be registered on ${namespace}`,
      async () => {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.entries(STEWARD_SEARCH_ATTRIBUTES).filter(
          ([name]) => !customAttributes?.[name],
        );
        if (missing.length === 0) return true;
        const types = { Keyword: 2, Int: 3, Double: 4 } as const; // temporal.api.enums.v1.IndexedValueType
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, types[type]])),
        });
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // and until the namespace serves queries (a worker's first poll needs it everywhere)
    await waitFor(
      `namespace ${namespace} did not become usable`,
      async () => {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  } finally {
    await connection.close();
  }
}

/** What `steward worker` and `steward node` print once their workers run. */
const READY_LINE = 'worker running against';

/**
 * Starts one Steward process and waits until it says its workers run. (Not until the server lists
 * it among the queue's pollers: a poll that lands on one of the queue's other partitions shows in
 * no listing for up to a minute, while the process is polling all along.)
 */
export async function startStewardProcess(
  state: ClusterState,
  spec: StewardProcessSpec,
): Promise<ProcessRecord> {
  mkdirSync(spec.dataDir, { recursive: true });
  const log = logFile(state, spec.name);
  const offset = existsSync(log) ? statSync(log).size : 0;
  const [command, ...prefix] = state.stewardCommand;
  const record = watched(
    state,
    startDetached({
      name: spec.name,
      command: command!,
      args: [...prefix, ...spec.args],
      log,
      marker: spec.dataDir,
      cwd: state.dir,
      env: {
        // the cluster's own Temporal profile only: none of the caller's TEMPORAL_* settings
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_'))),
        ...state.stewardEnv,
        ...connectionEnv(state),
        STEWARD_CONFIG: state.stewardConfig,
        STEWARD_DATA_DIR: spec.dataDir,
        ...(state.blobsUrlEnv ? { [state.blobsUrlEnv]: blobsUrl(state) } : {}),
      },
    }),
  );
  await waitFor(
    `${spec.name} did not start its workers`,
    async () => (readFileSync(log).subarray(offset).includes(READY_LINE) ? true : undefined),
    { timeoutMs: 120_000, intervalMs: 100, alive: () => isRunning(record.pid), log },
  );
  return record;
}
