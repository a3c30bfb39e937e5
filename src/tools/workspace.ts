import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { mkdir, open, readdir, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ErrorTypes, failure } from '../errors';
import { fileFailure, shownPath } from './fsErrors';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;
const LINUX = process.platform === 'linux';
const READ_CHUNK = 64 * 1024;

const within = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** The real path of a path that may not exist yet: its nearest existing ancestor's, plus the rest. */
async function realPathSoFar(path: string): Promise<string> {
  for (let existing = path; ; existing = dirname(existing)) {
    try {
      return join(await realpath(existing), relative(existing, path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || existing === dirname(existing)) throw err;
    }
  }
}

/**
 * Where an open descriptor really is. Checking the descriptor, not the path, is what closes the race
 * of a symlink swapped between a check and the open. On Linux `/proc/self/fd` says it directly;
 * elsewhere the path's real location must still be the very file that was opened.
 */
async function realPathOf(handle: FileHandle, openedAs: string): Promise<string> {
  if (LINUX) return realpath(`/proc/self/fd/${handle.fd}`);
  const real = await realpath(openedAs);
  const [now, opened] = await Promise.all([stat(real), handle.stat()]);
  if (now.dev !== opened.dev || now.ino !== opened.ino) {
    throw failure(ErrorTypes.ToolFailed, 'the path changed while it was being opened');
  }
  return real;
}

function refuseUnlessRegular(stats: Stats, path: string): void {
  if (stats.isDirectory()) throw failure(ErrorTypes.ToolRejected, `${shownPath(path)} is a directory`);
  if (!stats.isFile()) throw failure(ErrorTypes.ToolRejected, `${shownPath(path)} is not a regular file`);
}

/**
 * A file with more than one name is not read: a hard link is the file itself, so no check of where
 * it was opened can tell a link planted in the workspace from a file that belongs there, and its
 * other names may be anywhere on the same file system (the data directory's key, another user's file).
 */
function refuseHardLinked(stats: Stats, path: string): void {
  if (stats.nlink > 1)
    throw failure(
      ErrorTypes.ToolRejected,
      `${shownPath(path)} has ${stats.nlink} hard links: another name for it may be outside the workspace, so file tools do not read it (copy it instead of linking it)`,
    );
}

/** Reads at most `max` bytes, refusing a file that turns out longer (it may grow after fstat). */
async function readAtMost(handle: FileHandle, max: number, tooBig: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buffer = Buffer.alloc(Math.min(READ_CHUNK, max + 1 - total));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    chunks.push(buffer.subarray(0, bytesRead));
    total += bytesRead;
    if (total > max) throw tooBig();
  }
}

/**
 * Opens directory `dir` (at or below `root`), making each missing part on the way, one part at a time:
 * each part is made and opened relative to the descriptor of the part before it (on Linux through
 * `/proc/self/fd/<fd>`, an openat/mkdirat that Node lacks), and each opened part's real location is
 * checked before anything is made in it. An ancestor swapped for a symlink mid-walk is then either
 * refused when opened (it leads outside) or never used: no directory is ever made outside. (`mkdir -p`
 * after a check, as before, made 29 directories outside in 400 racing writes.)
 */
async function openDirectoryMaking(
  root: string,
  dir: string,
  check: (real: string) => Promise<void>,
): Promise<{ handle: FileHandle; real: string }> {
  let handle = await open(root, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
  let real = root;
  try {
    await check(await realPathOf(handle, root));
    for (const part of relative(root, dir).split(sep).filter(Boolean)) {
      const next = join(LINUX ? `/proc/self/fd/${handle.fd}` : real, part);
      // mkdir never follows a symlink at `part`: one planted there is EEXIST, then checked once opened
      await mkdir(next).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const child = await open(next, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
      await handle.close();
      handle = child;
      real = await realPathOf(child, join(real, part));
      await check(real);
    }
    return { handle, real };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** A scope of one call: the workspace's real root and a check that a real path may be touched. */
interface Scope {
  root: string;
  full: string;
  check(real: string): Promise<void>;
}

/**
 * The only way file tools reach the disk. Every path is checked twice: by name before anything is
 * touched, and by the real location of what was actually opened, so neither `..`, a symlink, nor a
 * symlink swapped in between reaches outside the workspace or into a protected path.
 */
export class Workspace {
  constructor(
    private readonly dir: string,
    /** Absolute or workspace-relative paths no tool may see (Steward's data directory, its config). */
    private readonly protectedPaths: string[] = [],
  ) {}

  private async scope(path: string): Promise<Scope> {
    const root = await realpath(resolve(this.dir));
    const given = this.protectedPaths.map((p) => resolve(root, p));
    const protectedPaths = [...given, ...(await Promise.all(given.map(realPathSoFar)))];
    const check = async (real: string): Promise<void> => {
      if (!within(real, root)) {
        throw failure(ErrorTypes.ToolRejected, `path ${shownPath(path)} is outside the workspace`);
      }
      if (protectedPaths.some((p) => within(real, p))) {
        throw failure(
          ErrorTypes.ToolRejected,
          `${shownPath(path)} is in Steward's data directory (a protected path) and is never visible to tools`,
        );
      }
    };
    const full = resolve(root, path);
    await check(full); // by name: `..`, absolute paths, a protected path that does not exist yet
    return { root, full, check };
  }

  /** A regular file's bytes, at most `maxBytes` of them; FIFOs and devices are refused without blocking. */
  async read(path: string, maxBytes: number): Promise<Buffer> {
    try {
      const { full, check } = await this.scope(path);
      const real = await realpath(full);
      await check(real);
      refuseUnlessRegular(await stat(real), path); // spares opening a FIFO or device at all
      const handle = await open(real, O_RDONLY | O_NONBLOCK); // and if one is swapped in, open does not hang
      try {
        await check(await realPathOf(handle, real));
        const stats = await handle.stat();
        refuseUnlessRegular(stats, path);
        refuseHardLinked(stats, path);
        const tooBig = (size: string) =>
          failure(
            ErrorTypes.ToolRejected,
            `${shownPath(path)} is ${size}, over the ${maxBytes}-byte limit for reading a file`,
          );
        if (stats.size > maxBytes) throw tooBig(`${stats.size} bytes`);
        return await readAtMost(handle, maxBytes, () => tooBig('growing'));
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw fileFailure(err, path);
    }
  }

  /** The regular files directly in a directory, relative to the workspace, protected ones left out. */
  async list(dir: string): Promise<string[]> {
    try {
      const { root, full, check } = await this.scope(dir);
      const real = await realpath(full);
      await check(real);
      const handle = await open(real, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
      try {
        const opened = await realPathOf(handle, real);
        await check(opened);
        const entries = await readdir(LINUX ? `/proc/self/fd/${handle.fd}` : opened, { withFileTypes: true });
        const files: string[] = [];
        for (const entry of entries) {
          if (!entry.isFile()) continue;
          const visible = await check(join(opened, entry.name)).then(
            () => true,
            () => false,
          );
          if (visible) files.push(relative(root, join(full, entry.name)));
        }
        return files.sort();
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw fileFailure(err, dir);
    }
  }

  /**
   * Replaces a file atomically: the bytes go to a fresh, randomly named temp file created with
   * O_EXCL|O_NOFOLLOW (a symlink planted under any name is never written through), which is then
   * renamed over the target within the same, checked directory. The temp file never outlives a failure.
   */
  async write(path: string, content: string): Promise<void> {
    try {
      const { root, full, check } = await this.scope(path);
      await check(await realPathSoFar(dirname(full))); // by name first: a clear refusal before any mkdir
      const { handle: dirHandle, real: realDir } = await openDirectoryMaking(root, dirname(full), check);
      try {
        const name = basename(full);
        await check(join(realDir, name));
        // On Linux, names under /proc/self/fd/<fd> stay in the directory checked, whatever is swapped.
        const base = LINUX ? `/proc/self/fd/${dirHandle.fd}` : realDir;
        const temp = join(base, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
        try {
          const file = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
          try {
            await file.writeFile(content, 'utf8');
          } finally {
            await file.close();
          }
          await rename(temp, join(base, name));
        } catch (err) {
          await rm(temp, { force: true }).catch(() => undefined);
          throw err;
        }
      } finally {
        await dirHandle.close();
      }
    } catch (err) {
      throw fileFailure(err, path);
    }
  }
}
