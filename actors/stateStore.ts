// The container's state folder: <root>/<id>/ with state.json (OCI state + berth's own data), the
// config.json the container was created from, and the start fifo. Readable by anyone at any time:
// writes go to a temp file that is then swapped in.
import { closeSync, constants, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Status } from '../machines/container.js';
import type { CgroupRecord } from '../native/cgroups/manager.js';
import type { KeptNamespaces } from '../native/keptNamespaces.js';
import { BerthError, errnoName, errnoText, isErrno } from '../native/errors.js';
import { isFrozen } from '../native/cgroups/freezer.js';
import { inInitialUserNamespace, isAlive } from '../native/procfs.js';
import { exchangePaths } from '../native/syscalls.js';
import type { Config } from '../native/spec/config.js';

/** The runtime-spec version berth implements and reports. */
export const OCI_VERSION = '1.3.0';
export const DEFAULT_ROOT = '/run/opencontainer/containers';

/** A state root's mode: root's lets others reach a container's folder by name only; a user's is closed to them. */
export const ROOT_MODES = { root: 0o711, user: 0o700 } as const;
export const rootMode = (euid = process.geteuid?.() ?? 0) => (euid === 0 ? ROOT_MODES.root : ROOT_MODES.user);

/** The folder (below XDG_RUNTIME_DIR) a user's berth keeps its state in when --root is not given. */
export const USER_ROOT_DIR = 'berth';

/**
 * Where state lives when --root is not given: root's DEFAULT_ROOT; a user's (rootless berth)
 * $XDG_RUNTIME_DIR/berth, theirs alone — a rootless call never touches root's state.
 */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): string {
  // Root of another user namespace (rootless podman's runtime): the user's folder when there is one, as runc's.
  if (euid === 0 && (inInitialUserNamespace() || !env.XDG_RUNTIME_DIR)) return DEFAULT_ROOT;
  if (!env.XDG_RUNTIME_DIR) throw new BerthError('a rootless berth keeps its state in $XDG_RUNTIME_DIR/berth: set XDG_RUNTIME_DIR, or give --root');
  return join(env.XDG_RUNTIME_DIR, USER_ROOT_DIR);
}

/** The OCI state, as `berth state` prints it (with runc's extra fields, which clients read). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: Status;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export interface StateFile extends OciState {
  berth: {
    /** With pid, names the container's process for good (pids are reused). */
    pidStartTime: number;
    cgroup: CgroupRecord | null;
    /** The container has no mount namespace of its own: its mounts are in the host's, under rootfs. */
    hostMounts: boolean;
    /** Created with --no-pivot (a restart sets the root up the same way). */
    noPivot: boolean;
    /** Namespaces a stop kept for a restart, by type: bind mounts in the state folder. */
    keptNamespaces?: KeptNamespaces;
    /** XState's persisted snapshot of the container's machine, when settled. */
    machine: unknown;
  };
}

// runc's rule: letters, digits, and _ + - . ; nothing that could walk out of the root.
const ID_PATTERN = /^[\w+.-]+$/;

export function validateId(id: string): void {
  if (!id) throw new BerthError('container id cannot be empty', 'invalid');
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw new BerthError(`invalid container id format: ${id}`, 'invalid');
  // It names the state folder: a file name (255 bytes at most).
  if (id.length > 255) throw new BerthError(`invalid container id: ${id.length} characters, more than 255`, 'invalid');
}

export const containerDir = (root: string, id: string) => join(root, id);
export const fifoPath = (dir: string) => join(dir, 'exec.fifo');
const stateFile = (dir: string) => join(dir, 'state.json');
const configFile = (dir: string) => join(dir, 'config.json');

/**
 * Nothing but NUL bytes, or nothing: what a machine crash can leave of a file swapped in before
 * its data reached the disk (see writeAtomic). Never a write of berth's, which is whole or absent.
 */
const LOST = /^\0*$/;

export function readState(root: string, id: string): StateFile {
  validateId(id);
  let text: string;
  try {
    text = readFileSync(stateFile(containerDir(root, id)), 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) throw new BerthError('container does not exist', 'not-found');
    throw e;
  }
  // Lost in a machine crash, it is a state never recorded: every process it named died with the
  // machine, and delete --force removes the folder as it does one without state.json.
  if (LOST.test(text)) throw new BerthError('container does not exist', 'not-found');
  try {
    return JSON.parse(text) as StateFile;
  } catch (e) {
    throw new BerthError(`${stateFile(containerDir(root, id))} is not a state file: ${(e as Error).message}`);
  }
}

/**
 * Write a file so that readers see the old or the new content, never a part: a temp file swapped
 * in. Not fsynced. A berth killed at any point loses nothing (written data is the kernel's, and
 * the swap is atomic); only a crash of the machine can, and it takes every container process,
 * cgroup, mount and kept namespace with it — on most hosts the state root (/run) too. What the
 * files could then have protected no longer exists, and a state.json left empty is read as no
 * state (readState). An fsync per write cost 0.3–1 ms on this VM's ext4, four times a lifecycle.
 * A failed write (a full disk, a read-only root) removes its temp file and names the file it was for.
 */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    // Swapped in rather than renamed over: ext4 starts the writeback of a file renamed over
    // another (auto_da_alloc), 170 µs a write on this VM against 13 for the swap and the unlink
    // of the old content. The first write, with nothing to swap with, is a rename.
    if (exchangePaths(tmp, path)) rmSync(tmp, { force: true });
    else renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw cannot('write', path, e);
  }
}

/** A failed write or removal of PATH in one line that names it (ENOSPC on a full disk, EROFS on a read-only root, EPERM on an immutable file). */
function cannot(what: 'write' | 'remove', path: string, e: unknown): unknown {
  const errno = (e as NodeJS.ErrnoException).errno;
  return errno === undefined ? e : new BerthError(`cannot ${what} ${path}: ${errnoName(errno)} (${errnoText(errno)})`);
}

export function writeState(dir: string, state: StateFile): void {
  writeAtomic(stateFile(dir), JSON.stringify(state));
}

/**
 * Record the container's config. The first write (create, restore) comes before state.json exists,
 * and nothing reads config.json before that (every reader finds the container by its state first),
 * so it is written in place: no temp file to make and rename. A berth killed during it leaves a
 * folder without state.json, which delete --force removes. Later writes (update) are atomic.
 */
export function writeConfig(dir: string, config: Config): void {
  const path = configFile(dir);
  const content = JSON.stringify(config);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return writeAtomic(path, content);
    throw cannot('write', path, e);
  }
  try {
    writeSync(fd, content);
  } catch (e) {
    throw cannot('write', path, e);
  } finally {
    closeSync(fd);
  }
}

/** The config the container was created with: later edits of the bundle do not affect it. */
export function readConfig(dir: string): Config {
  return JSON.parse(readFileSync(configFile(dir), 'utf8')) as Config;
}

/**
 * Remove the state folder DIR: the files berth keeps there one by one, then the folder; whatever
 * else is there (a temp file of a killed write, kept namespaces' files) is found by a recursive
 * removal. (rmSync's recursion reads and stats the folder first: 0.5 ms a delete on ext4 here.)
 */
export function removeContainerDir(dir: string): void {
  for (const f of [stateFile(dir), configFile(dir), fifoPath(dir)]) {
    try {
      unlinkSync(f); // (rmSync would report a refused unlink as a failed scandir of the file)
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw cannot('remove', f, e);
    }
  }
  try {
    rmdirSync(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    if (!isErrno(e, 'ENOTEMPTY', 'EEXIST')) throw e;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Make the state folder; fails if the id is taken. */
export function makeContainerDir(root: string, id: string): string {
  const dir = containerDir(root, id);
  const make = (): unknown => {
    try {
      mkdirSync(dir, { mode: 0o700 });
      return null;
    } catch (e) {
      if (isErrno(e, 'EEXIST')) throw new BerthError(`container with id exists: ${id}`, 'exists');
      return e;
    }
  };
  // The root is made (or found not to be a folder) on first need, not checked every time.
  let failed = make();
  if (isErrno(failed, 'ENOENT', 'ENOTDIR')) {
    mkdirSync(root, { recursive: true, mode: rootMode() });
    failed = make();
  }
  if (failed) throw failed;
  return dir;
}

/** True when the container's process is alive (a zombie is dead). */
export function processAlive(state: StateFile): boolean {
  return state.pid > 0 && isAlive(state.pid, state.berth.pidStartTime);
}

/**
 * Whether the container's process still waits for start: its fifo is there with a reader (the
 * process holds it open at its barrier until start releases it). A fifo start could not remove
 * (a read-only state folder) has none.
 */
function waitingAtBarrier(fifo: string): boolean {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENXIO')) return false;
    throw e;
  }
}

/**
 * What the kernel shows was done to a live container that its record does not say (a berth killed
 * right after the act, a full disk): a start (the fifo is gone), a pause (its cgroup is frozen) or a
 * resume (thawed). State tells the truth, and the machine takes the container as it is. The caller
 * has seen the process alive (one read of its /proc stat, not two).
 */
export function unrecordedOp(state: StateFile, dir: string): 'START' | 'PAUSE' | 'RESUME' | null {
  if (state.status === 'created') return waitingAtBarrier(fifoPath(dir)) ? null : 'START';
  const frozen = state.berth.cgroup && (state.status === 'running' || state.status === 'paused') ? isFrozen(state.berth.cgroup) : undefined;
  if (state.status === 'running' && frozen) return 'PAUSE';
  if (state.status === 'paused' && frozen === false) return 'RESUME';
  return null;
}

const statusAfter = { START: 'running', PAUSE: 'paused', RESUME: 'running' } as const;

/** The status as it is now: what was recorded, unless the process has died or been started, paused or resumed since. */
export function liveStatus(state: StateFile, dir: string): Status {
  if (state.status === 'creating' || state.status === 'stopped') return state.status;
  if (!processAlive(state)) return 'stopped';
  const op = unrecordedOp(state, dir);
  return op ? statusAfter[op] : state.status;
}

export function ociState(state: StateFile, dir: string): OciState {
  const status = liveStatus(state, dir);
  const { berth: _, annotations, ...oci } = state;
  return { ...oci, status, pid: status === 'stopped' ? 0 : state.pid, ...(annotations && Object.keys(annotations).length ? { annotations } : {}) };
}

/** The ids of the containers under ROOT (folders with a state.json). */
export function listIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && ID_PATTERN.test(d.name))
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
}
