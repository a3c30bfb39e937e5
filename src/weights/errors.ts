/** A file whose bytes are not the pinned ones, or a wheel that cannot be found or read. */
export class ModelFileError extends Error {
  constructor(
    message: string,
    readonly code: 'ChecksumMismatch' | 'NotFound' | 'BadArchive' | 'FetchFailed',
  ) {
    super(message);
    this.name = 'ModelFileError';
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
