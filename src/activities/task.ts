import { ApplicationFailure } from '@temporalio/common';
import { ed25519 } from '@noble/curves/ed25519';
import type { AgentRegistry } from '../agents';
import { checkCarry, signCarry, type CarrySignature } from '../audit/carry';
import { keyFingerprint, publicKeyOf, type TrustedKey } from '../audit/signing';
import { readPolicyFile, type PolicyFile } from '../config/policyFile';
import type { StewardConfig } from '../config/schema';
import { ErrorTypes, StewardError } from '../errors';
import { resolveTaskSpec, TaskRefused } from '../policies/taskSpec';
import type { AuditStore } from '../stores/auditStore';
import type { BlobStore } from '../stores/blobStore';
import type { ToolRegistry } from '../tools/registry';
import type { TaskSpec } from '../workflows/contract';

type SigningKey = { keyId: string; publicKey: string; privateKey: Uint8Array };

export interface TaskActivityDeps {
  config: StewardConfig;
  agents: AgentRegistry;
  tools: ToolRegistry;
  blobs: BlobStore;
  /** Keys whose signed decisions tasks accept: this install's and the configured ones (none: no decision is accepted). */
  trustedKeys?: TrustedKey[];
  /** Where trails are kept: a task id that already has one names another task and is refused. */
  auditStore?: AuditStore;
  /** The install's key: it signs the state a task carries to its next run. */
  auditKey?: SigningKey;
  /** Public keys (hex) whose carried state this worker accepts: its own and the other workers'. */
  carryKeys?: string[];
}

export type ResolvedTask = { spec: TaskSpec } | { refused: string };

/** A worker without a configured key signs carried state with one of its own, for its own runs. */
let processKey: SigningKey | undefined;
function ownKey(): SigningKey {
  if (!processKey) {
    const privateKey = ed25519.utils.randomPrivateKey();
    const publicKey = publicKeyOf(privateKey);
    processKey = { keyId: `process-${keyFingerprint(publicKey)}`, publicKey, privateKey };
  }
  return processKey;
}

/** The policy file as it is now, or why the task cannot start under it. */
export function currentPolicyFile(config: StewardConfig): PolicyFile | undefined {
  if (!config.policy.file) return undefined;
  try {
    return readPolicyFile(config.policy.file);
  } catch (err) {
    throw new TaskRefused(err instanceof StewardError ? err.message : String(err));
  }
}

/**
 * Resolving a start request on the worker, from the worker's own agents, tools and configuration
 * (the caller names the agent and may narrow its limits, never widen them), and proving the state a
 * task carries across continue-as-new. Each runs once per run as a local activity; its result is
 * recorded in history, so a replay needs nothing else.
 */
export function createTaskActivities(deps: TaskActivityDeps) {
  const { config, agents, tools, blobs, trustedKeys = [], auditStore } = deps;
  const key = deps.auditKey ?? ownKey();
  const carryKeys = [...new Set([key.publicKey, ...(deps.carryKeys ?? [])])];

  /** Whether the store holds a trail for this id; a store that is down does not hold the task up. */
  async function hasTrail(taskId: string): Promise<boolean> {
    if (!auditStore) return false;
    try {
      return (await auditStore.read(taskId)).entries.length > 0;
    } catch {
      return false; // its first export would be refused if the id were taken (AuditStoreConflict)
    }
  }

  async function resolveTask(start: { taskId: string; request: unknown }): Promise<ResolvedTask> {
    const request = start.request as { input?: unknown } | null;
    try {
      // Large input was moved to the blob store by the client: check the value, keep history small.
      const withInput =
        request && typeof request === 'object' && 'input' in request
          ? { ...request, input: await blobs.resolve(request.input) }
          : request;
      const spec = resolveTaskSpec(config, agents, tools, start.taskId, withInput, currentPolicyFile(config));
      // A task id names one task forever: a closed task's id started again would mix two trails.
      if (await hasTrail(start.taskId))
        return { refused: `task id ${start.taskId} already names another task; start with a new id` };
      const auditExport = config.stores.audit.kind !== 'none';
      return { spec: { ...spec, input: await blobs.externalize(spec.input), trustedKeys, auditExport } };
    } catch (err) {
      if (err instanceof TaskRefused) return { refused: err.message };
      // the input's blob is not in this worker's store: no retry brings it back
      if (err instanceof ApplicationFailure && err.type === ErrorTypes.BlobMissing)
        return { refused: err.message };
      throw err;
    }
  }

  /** Signs what a run hands to its next run (before it continues as new). */
  async function signCarried(input: {
    taskId: string;
    runId: string;
    next: unknown;
  }): Promise<CarrySignature> {
    return signCarry(key, input.taskId, input.runId, input.next);
  }

  /** Why the state a run starts with cannot be believed, or nothing when it can. */
  async function checkCarried(input: {
    taskId: string;
    continuedFrom?: string;
    carried: unknown;
    signature?: CarrySignature;
  }): Promise<{ refused?: string }> {
    const problem = checkCarry(carryKeys, input.taskId, input.continuedFrom, input.carried, input.signature);
    return problem ? { refused: problem } : {};
  }

  return { resolveTask, signCarried, checkCarried };
}
