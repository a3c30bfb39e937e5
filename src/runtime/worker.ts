import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { StepActivities, StewardActivities } from '../activities';
import type { Telemetry } from './telemetry';

/**
 * Bundles Steward's workflow code (seconds; do it once and share the bundle between workers). The
 * signing and hashing libraries are preloaded (src/workflows/preload.ts): loaded once per workflow
 * thread and shared by every workflow, instead of instantiated in each workflow and replay. Webpack's
 * `sideEffects` pruning is off, or a preload of a package marked side-effect free compiles to nothing.
 */
export async function bundleStewardWorkflows(
  options: Pick<Parameters<typeof bundleWorkflowCode>[0], 'logger' | 'workflowInterceptorModules'> = {},
): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({
    logger: bundlerLogger(),
    workflowsPath: require.resolve('../workflows'),
    preloadModules: [require.resolve('../workflows/preload')],
    webpackConfigHook: (config) => ({
      ...config,
      optimization: { ...config.optimization, sideEffects: false },
    }),
    ...options,
  });
  return { code };
}

const ignore = (): void => undefined;

/**
 * Webpack's report (~17 lines on every `steward run` and `dev`) is for whoever debugs the bundling:
 * shown with `--debug` or STEWARD_DEBUG=1; otherwise only warnings and errors.
 */
export function bundlerLogger(
  debug = ['1', 'true'].includes(process.env.STEWARD_DEBUG ?? ''),
): NonNullable<Parameters<typeof bundleWorkflowCode>[0]['logger']> {
  if (debug) return new DefaultLogger('INFO');
  return {
    trace: ignore,
    debug: ignore,
    info: ignore,
    log: ignore,
    warn: (message) => console.warn(message),
    error: (message) => console.error(message),
  };
}

export interface StewardWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  activities: StewardActivities;
  /** A bundle built once with `bundleWorkflowCode` and shared; bundling takes seconds. */
  workflowBundle?: WorkflowBundle;
  /**
   * Bounds the workflow cache: a task parked on an approval is evicted and replayed when it wakes,
   * instead of holding worker memory while it waits.
   */
  maxCachedWorkflows?: number;
  /**
   * Traces (README: Traces): the tracing interceptors and the workflow span sink; the workflow code
   * is then the bundle that includes the workflow interceptors (`workflowBundle` is not used).
   */
  telemetry?: Telemetry;
}

const tracedBundles = new WeakMap<Telemetry, Promise<WorkflowBundle>>();

/** The workflow code with the tracing workflow interceptors: bundled once per telemetry (one per process). */
function tracedWorkflowBundle(telemetry: Telemetry): Promise<WorkflowBundle> {
  let bundle = tracedBundles.get(telemetry);
  if (!bundle) {
    bundle = bundleStewardWorkflows({ workflowInterceptorModules: telemetry.workflowInterceptorModules });
    tracedBundles.set(telemetry, bundle);
    bundle.catch(() => tracedBundles.delete(telemetry)); // a failed bundling is tried again next time
  }
  return bundle;
}

/** The worker of the `steward` queue: runs agentRun workflows and their model and tool activities. */
export async function createStewardWorker(options: StewardWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    workflowBundle: options.telemetry
      ? await tracedWorkflowBundle(options.telemetry)
      : (options.workflowBundle ?? (await bundleStewardWorkflows())),
    activities: options.activities,
    maxCachedWorkflows: options.maxCachedWorkflows ?? 200,
    ...(options.telemetry
      ? { interceptors: options.telemetry.workerInterceptors, sinks: options.telemetry.workflowSinks }
      : {}),
  });
}

/**
 * A compute node: a worker polling its own task queue, running the jobs (compute tools) that the
 * compute router sends it. More nodes on more machines are more of these, not new code.
 */
export async function createComputeNodeWorker(
  options: Omit<StewardWorkerOptions, 'workflowBundle' | 'maxCachedWorkflows' | 'activities'> & {
    activities: StepActivities;
  },
): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    activities: { runTool: options.activities.runTool },
    ...(options.telemetry ? { interceptors: options.telemetry.workerInterceptors } : {}),
  });
}
