import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readlinkSync, readSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { isInside } from './paths.js';

/**
 * Every read and write the platform does of a file the agent can write (its workspace, its HOME).
 * The agent is hostile: a link there may point at any file the server can read or write, a FIFO would
 * block the reader, and a huge file would fill memory. So a path is opened only when its parent's real
 * path lies inside the root, never through a link at the final component, and only as a regular file.
 *
 * A write checks the path, then opens it: the platform writes only while no agent process runs. A read may
 * overlap a leftover agent process, so it also checks the file it actually opened.
 */

/** Why a path inside an agent's root was not read or written. */
export class AgentFileError extends Error {
  override name = 'AgentFileError';
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * The regular file at `path` (relative to `root`) as UTF-8; undefined when it does not exist.
 * Throws an AgentFileError when it is a link, not a regular file, outside the root, or over `maxBytes`.
 */
export function readAgentFile(root: string, path: string, opts: { maxBytes: number }): string | undefined {
  const target = locate(root, path);
  if (!target) return undefined;
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(target.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw refusal(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new AgentFileError(`refused ${path}: not a regular file`);
    // The path was checked before the open; this checks the file that was opened.
    requireInside(target.root, openedPath(fd) ?? target.path, path);
    if (st.size > opts.maxBytes) throw tooLarge(path, opts.maxBytes);
    // Read to the end, not to st.size: a file that grows meanwhile is read whole or refused, never cut.
    let buf = Buffer.alloc(Math.min(st.size, opts.maxBytes) + 1);
    let length = 0;
    for (let n; (n = readSync(fd, buf, length, buf.length - length, null)) > 0; ) {
      length += n;
      if (length > opts.maxBytes) throw tooLarge(path, opts.maxBytes);
      if (length === buf.length) buf = Buffer.concat([buf, Buffer.alloc(Math.min(buf.length, opts.maxBytes + 1 - length))]);
    }
    return buf.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces the file at `path` (relative to `root`) with `data`, creating missing parent directories
 * inside the root. Whatever was there (a link, a FIFO, a hard link to another file) is replaced, never
 * written through: the data goes to a new file that is renamed over it. Throws an AgentFileError when
 * a parent leads outside the root.
 */
export function writeAgentFile(root: string, path: string, data: string, opts: { mode?: number } = {}): void {
  const rootReal = realpathSync(root);
  const full = join(rootReal, path);
  const parts = relative(rootReal, dirname(full)).split(sep).filter(Boolean);
  if (full === rootReal || parts[0] === '..') throw new AgentFileError(`refused ${path}: outside ${root}`);
  let dir = rootReal;
  for (const part of parts) {
    try {
      mkdirSync(join(dir, part), { mode: 0o700 });
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw refusal(path, err);
    }
    try {
      dir = resolveInside(rootReal, join(dir, part), path);
    } catch (err) {
      throw err instanceof AgentFileError ? err : refusal(path, err);
    }
  }
  const tmp = join(dir, `.${basename(full)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, opts.mode ?? 0o644);
  try {
    const buf = Buffer.from(data);
    for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, join(dir, basename(full)));
  } catch (err) {
    unlinkSync(tmp);
    throw refusal(path, err);
  }
}

/** The root's real path and the path to open, its parent resolved; undefined when the parent is missing. */
function locate(root: string, path: string): { root: string; path: string } | undefined {
  const rootReal = realpathSync(root);
  const full = join(rootReal, path);
  if (full === rootReal) throw new AgentFileError(`refused ${path}: outside ${root}`);
  try {
    return { root: rootReal, path: join(resolveInside(rootReal, dirname(full), path), basename(full)) };
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function resolveInside(rootReal: string, dir: string, path: string): string {
  const real = realpathSync(dir);
  requireInside(rootReal, real, path);
  return real;
}

function requireInside(rootReal: string, real: string, path: string): void {
  if (!isInside(rootReal, real)) throw new AgentFileError(`refused ${path}: it leads outside its root (to ${real})`);
}

/** What the descriptor really names (Linux); undefined where /proc is not available. */
function openedPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function tooLarge(path: string, maxBytes: number): AgentFileError {
  return new AgentFileError(`refused ${path}: larger than ${maxBytes} bytes`);
}

function refusal(path: string, err: unknown): AgentFileError {
  const code = errno(err);
  const why = code === 'ELOOP' ? 'it is a symbolic link' : code === 'EISDIR' || code === 'ENOTDIR' ? 'not a regular file' : (err as Error).message;
  return new AgentFileError(`refused ${path}: ${why}`);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}
