import { hostname } from 'node:os';

/**
 * The identity Temporal records for this process's workers (the SDK's default, `pid@host`): steps
 * report it, so the audit trail says which worker ran each one and `steward audit verify` can match it
 * against the history's ActivityTaskStarted events.
 */
export const workerIdentity = `${process.pid}@${hostname()}`;
