import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { StepActivities, StewardActivities } from '../activities';
import type { Telemetry } from './telemetry';

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

/** The worker of the `steward` queue: runs agentRun workflows and their model and tool activities. */
export async function createStewardWorker(options: StewardWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    ...(options.telemetry
      ? { workflowBundle: await options.telemetry.workflowBundle() }
      : options.workflowBundle
        ? { workflowBundle: options.workflowBundle }
        : { workflowsPath: require.resolve('../workflows') }),
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
