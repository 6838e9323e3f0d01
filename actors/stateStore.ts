// The container's state folder: <root>/<id>/ with state.json (OCI state + berth's own data), the
// config.json the container was created from, and the start fifo. Readable by anyone at any time:
// a record is written into a spare file, its twin, that is then swapped in. A deleted container's
// folder is kept, emptied, for the next create (spareFolders.ts): its files are written over, not
// made anew.
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Status } from '../machines/container.js';
import type { CgroupRecord } from '../native/cgroups/manager.js';
import type { KeptNamespaces } from '../native/keptNamespaces.js';
import { BerthError, errnoName, errnoText, isErrno } from '../native/errors.js';
import { isFrozen } from '../native/cgroups/freezer.js';
import { inInitialUserNamespace, isAlive } from '../native/procfs.js';
import { exchangePaths, flock, LOCK_EX, LOCK_NB, LOCK_SH, mkfifo } from '../native/syscalls.js';
import { lockFolderNow } from './folderLock.js';
import { claimSpare, keepSpare } from './spareFolders.js';
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
/** state.json's twins: the record before last (or a spare folder's), written over by the next record. */
const TWINS = ['.state.0', '.state.1'];
/** The start fifo once start has taken it away: kept for the folder's next container. */
const SPARE_FIFO = '.fifo';
/** What berth keeps in a state folder: a folder with anything else is removed, never kept as a spare. */
const OWN_FILES = new Set(['state.json', 'config.json', 'exec.fifo', SPARE_FIFO, ...TWINS]);

/**
 * Nothing but NUL bytes, or nothing: what a machine crash can leave of a file swapped in before
 * its data reached the disk (see writeAtomic). Never a write of berth's, which is whole or absent.
 */
const LOST = /^\0*$/;

export function readState(root: string, id: string): StateFile {
  validateId(id);
  const notFound = () => new BerthError('container does not exist', 'not-found');
  let fd: number;
  try {
    fd = openSync(stateFile(containerDir(root, id)), 'r');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) throw notFound();
    throw e;
  }
  let text: string;
  try {
    // Shared, so that no record is written over this file while it is read (see openTwin).
    flock(fd, LOCK_SH);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  // Lost in a machine crash, it is a state never recorded: every process it named died with the
  // machine, and delete --force removes the folder as it does one without state.json.
  if (LOST.test(text)) throw notFound();
  let state: StateFile;
  try {
    state = JSON.parse(text) as StateFile;
  } catch (e) {
    throw new BerthError(`${stateFile(containerDir(root, id))} is not a state file: ${(e as Error).message}`);
  }
  // Opened just before its container was deleted and its folder became another's.
  if (state.id !== id) throw notFound();
  return state;
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

/**
 * Record STATE: written into a twin of state.json and swapped in (the first record, with nothing to
 * swap with, renamed). Readers see the old record or the new one, whole; unsynced, as writeAtomic.
 */
export function writeState(dir: string, state: StateFile): void {
  const live = stateFile(dir);
  try {
    const { fd, path } = openTwin(dir);
    try {
      writeOver(fd, JSON.stringify(state));
    } finally {
      closeSync(fd);
    }
    if (!exchangePaths(path, live)) renameSync(path, live);
  } catch (e) {
    throw cannot('write', live, e);
  }
}

/**
 * A twin to write the next record into, opened. A reader that opened it while it was state.json
 * holds a shared lock on it until done: that twin is left to the reader and a new one made.
 */
function openTwin(dir: string): { fd: number; path: string } {
  for (const name of TWINS) {
    const path = join(dir, name);
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) continue;
      throw e;
    }
    if (flock(fd, LOCK_EX | LOCK_NB, path)) return { fd, path };
    closeSync(fd);
    unlinkSync(path);
    return { fd: openSync(path, 'wx', 0o600), path };
  }
  const path = join(dir, TWINS[0]!);
  return { fd: openSync(path, 'wx', 0o600), path };
}

/**
 * CONTENT over what the file FD held, the rest cut off. Not truncated first: on ext4 a file
 * truncated to nothing starts its writeback when closed (auto_da_alloc).
 */
function writeOver(fd: number, content: string): void {
  const bytes = Buffer.from(content);
  writeSync(fd, bytes, 0, bytes.length, 0);
  ftruncateSync(fd, bytes.length);
}

/**
 * Record the container's config at create (or restore). That comes before state.json exists, and
 * nothing reads config.json before that (every reader finds the container by its state first), so
 * it is written in place, over a spare folder's: no temp file to make and rename. A berth killed
 * during it leaves a folder without state.json, which delete --force removes.
 */
export function writeConfig(dir: string, config: Config): void {
  const path = configFile(dir);
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      writeOver(fd, JSON.stringify(config));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw cannot('write', path, e);
  }
}

/** The config of a container that exists (update): replaced atomically, as its readers may read it any time. */
export function replaceConfig(dir: string, config: Config): void {
  writeAtomic(configFile(dir), JSON.stringify(config));
}

/** The config the container was created with: later edits of the bundle do not affect it. */
export function readConfig(dir: string): Config {
  return JSON.parse(readFileSync(configFile(dir), 'utf8')) as Config;
}

/**
 * Remove the state folder DIR: kept as a spare (state.json and the start fifo moved aside) when it
 * holds only berth's own files and the root has room; else the files berth keeps there one by
 * one, then the folder, and whatever else is there (a temp file of a killed write, kept
 * namespaces' files) is found by a recursive removal. (rmSync's recursion reads and stats the
 * folder first: 0.5 ms a delete on ext4 here.)
 */
export function removeContainerDir(dir: string): void {
  if (keepSpare(dirname(dir), dir, () => emptied(dir))) return;
  for (const f of [stateFile(dir), configFile(dir), fifoPath(dir), join(dir, SPARE_FIFO), ...TWINS.map((t) => join(dir, t))]) {
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

/** DIR holds berth's files alone: then its record and start fifo are moved aside, and it may be kept. */
function emptied(dir: string): boolean {
  try {
    const names = readdirSync(dir);
    if (!names.every((n) => OWN_FILES.has(n))) return false;
    // A file berth cannot write over (made immutable) would fail the create that claimed the folder.
    for (const n of names) if (n !== 'exec.fifo' && n !== SPARE_FIFO) closeSync(openSync(join(dir, n), constants.O_WRONLY | constants.O_NOFOLLOW));
    if (names.includes('state.json')) {
      const free = TWINS.find((t) => !names.includes(t));
      if (free) renameSync(stateFile(dir), join(dir, free));
      else unlinkSync(stateFile(dir));
    }
    if (names.includes('exec.fifo')) renameSync(fifoPath(dir), join(dir, SPARE_FIFO));
    return true;
  } catch {
    return false; // removed instead, which names what failed
  }
}

/**
 * Make the state folder (a spare claimed, or a new one); fails if the id is taken. Returns its
 * lock when that could be had at once: null when another berth's operation on the id holds it.
 */
export function makeContainerDir(root: string, id: string): (() => void) | null {
  const dir = containerDir(root, id);
  const exists = () => new BerthError(`container with id exists: ${id}`, 'exists');
  const make = (): unknown => {
    try {
      const claimed = claimSpare(root, dir);
      if (claimed) return claimed;
      mkdirSync(dir, { mode: 0o700 });
      return null;
    } catch (e) {
      if (isErrno(e, 'EEXIST', 'ENOTEMPTY')) throw exists();
      return e;
    }
  };
  // The root is made (or found not to be a folder) on first need, not checked every time.
  let made = make();
  if (isErrno(made, 'ENOENT', 'ENOTDIR')) {
    mkdirSync(root, { recursive: true, mode: rootMode() });
    made = make();
  }
  if (made instanceof Error) throw made;
  return typeof made === 'function' ? (made as () => void) : lockFolderNow(dir);
}

/** The start fifo, where create's process waits: the folder's own from before, or a new one. */
export function makeStartFifo(dir: string): void {
  try {
    renameSync(join(dir, SPARE_FIFO), fifoPath(dir));
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    try {
      mkfifo(fifoPath(dir), 0o600);
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e; // a restart's, whose process was killed before its start
    }
  }
}

/** The start fifo taken away (a start, a restart that failed): its absence says the process was released. */
export function retireStartFifo(dir: string): void {
  try {
    renameSync(fifoPath(dir), join(dir, SPARE_FIFO));
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
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
