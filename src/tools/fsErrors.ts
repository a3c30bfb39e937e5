import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, failure } from '../errors';

/** File-system error codes a retry cannot change, said about the path they concern. */
const PERMANENT: Record<string, string> = {
  ENOENT: 'does not exist',
  EISDIR: 'is a directory',
  ENOTDIR: 'has a part that is not a directory',
  ELOOP: 'goes through too many symbolic links',
  ENAMETOOLONG: 'is too long a name',
  EACCES: 'is not accessible (permission denied)',
  EPERM: 'is not permitted',
  EINVAL: 'is not a valid name',
  EEXIST: 'already exists',
  EROFS: 'is on a read-only file system',
  ENXIO: 'is not a regular file',
  ENODEV: 'is not a regular file',
};

function codeOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Why a file-system error is permanent, or undefined if a retry might fix it (EIO, EMFILE, ENOSPC…). */
export function permanentFsReason(err: unknown): string | undefined {
  const code = codeOf(err);
  return code && Object.hasOwn(PERMANENT, code) ? PERMANENT[code] : undefined;
}

/** The path as the model gave it, cut short: an ENAMETOOLONG path is not worth repeating whole. */
export function shownPath(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 200)}…`;
}

/**
 * A file tool's failure, naming the path the model gave and never the absolute path Node puts in
 * its messages: permanent codes are refusals, other codes may pass and are retried.
 */
export function fileFailure(err: unknown, path: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  const code = codeOf(err);
  if (!code) return err;
  const reason = permanentFsReason(err);
  return reason
    ? failure(ErrorTypes.ToolRejected, `${shownPath(path)} ${reason} (${code})`)
    : failure(ErrorTypes.ToolFailed, `${shownPath(path)}: ${code}, which may pass`);
}
