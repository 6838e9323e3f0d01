// Spawning berth-init with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), no copy of Node's page
// tables — child_process.spawn costs about 15 ms per call here). The child gets its stdio, a
// socket to berth at a given fd number, a session of its own, default signal dispositions
// (Node ignores SIGPIPE; a container must not inherit that) and an empty environment (unless given one).
import { readFileSync, writeFileSync } from 'node:fs';
import { SyscallError } from './errors.js';
import { koffi, libc } from './libc.js';
import type { ProcessParent } from './processParent.js';
import { closeFd, socketPair } from './syscalls.js';

const c = {
  fcntl: libc.func('int fcntl(int fd, int cmd, int arg)'),
  faInit: libc.func('int posix_spawn_file_actions_init(void *fa)'),
  faDestroy: libc.func('int posix_spawn_file_actions_destroy(void *fa)'),
  faDup2: libc.func('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
  faOpen: libc.func('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int flags, uint32_t mode)'),
  attrInit: libc.func('int posix_spawnattr_init(void *attr)'),
  attrDestroy: libc.func('int posix_spawnattr_destroy(void *attr)'),
  attrFlags: libc.func('int posix_spawnattr_setflags(void *attr, short flags)'),
  attrSigmask: libc.func('int posix_spawnattr_setsigmask(void *attr, const void *set)'),
  attrSigdefault: libc.func('int posix_spawnattr_setsigdefault(void *attr, const void *set)'),
  sigemptyset: libc.func('int sigemptyset(void *set)'),
  sigfillset: libc.func('int sigfillset(void *set)'),
  spawn: libc.func('int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)'),
  memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
};

const F_DUPFD_CLOEXEC = 1030;
const O_RDWR = 2;
const POSIX_SPAWN_SETSIGDEF = 4;
const POSIX_SPAWN_SETSIGMASK = 8;
const POSIX_SPAWN_SETSID = 128;

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_ALL = 1 | 2 | 4 | 8; // SEAL, SHRINK, GROW, WRITE

const sealedCopies = new Map<string, string>();

/**
 * PATH copied into a sealed memfd, as a path to exec (/proc/self/fd/N), made once per process.
 * A container that gets hold of the running executable (CVE-2019-5736) cannot write through it:
 * it is not the file on the host, and no one can write the copy.
 */
export function sealedExecutable(path: string): string {
  let exe = sealedCopies.get(path);
  if (!exe) {
    const fd = c.memfdCreate('berth-init', MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw new SyscallError('memfd_create', koffi.errno(), path);
    writeFileSync(fd, readFileSync(path));
    if (c.fcntl(fd, F_ADD_SEALS, F_SEAL_ALL) < 0) throw new SyscallError('fcntl(F_ADD_SEALS)', koffi.errno(), path);
    exe = `/proc/self/fd/${fd}`;
    sealedCopies.set(path, exe);
  }
  return exe;
}

/** Returns of posix_spawn* are errnos themselves. */
function ok(call: string, r: number, what?: string): void {
  if (r !== 0) throw new SyscallError(call, r, what);
}

/**
 * posix_spawn PATH with ARGV (argv[0] as given) and exactly ENV. FDS[i] becomes the child's fd i:
 * a number of ours, or 'ignore' for /dev/null; every other fd of ours is close-on-exec already.
 */
export function spawnProcess(path: string, argv: string[], env: string[], fds: (number | 'ignore')[]): number {
  const fa = Buffer.alloc(256);
  const attr = Buffer.alloc(512);
  const sigset = Buffer.alloc(128);
  const moved: number[] = [];
  try {
    ok('posix_spawn_file_actions_init', c.faInit(fa));
    ok('posix_spawnattr_init', c.attrInit(attr));
    // A source that is also a target of another would be overwritten before it is read: such
    // sources are moved above every target first.
    fds.forEach((fd, target) => {
      if (fd === 'ignore') return ok('posix_spawn_file_actions_addopen', c.faOpen(fa, target, '/dev/null', O_RDWR, 0), `fd ${target}`);
      let from = fd;
      if (fd !== target && fd < fds.length) {
        from = c.fcntl(fd, F_DUPFD_CLOEXEC, fds.length);
        if (from < 0) throw new SyscallError('fcntl', koffi.errno(), `fd ${fd}`);
        moved.push(from);
      }
      ok('posix_spawn_file_actions_adddup2', c.faDup2(fa, from, target), `fd ${target}`);
    });
    ok('posix_spawnattr_setflags', c.attrFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
    c.sigemptyset(sigset);
    ok('posix_spawnattr_setsigmask', c.attrSigmask(attr, sigset));
    c.sigfillset(sigset);
    ok('posix_spawnattr_setsigdefault', c.attrSigdefault(attr, sigset));
    const pid = new Int32Array(1);
    ok('posix_spawn', c.spawn(pid, path, fa, attr, [...argv, null], [...env, null]), path);
    return pid[0]!;
  } finally {
    for (const fd of moved) closeFd(fd);
    c.faDestroy(fa);
    c.attrDestroy(attr);
  }
}

export interface Spawned {
  pid: number;
  /** berth's end of the socket; the child has the other end at `syncFd`. */
  socket: number;
}

export interface SpawnOptions {
  /** The socket's type (syscalls.ts): stream unless given. */
  socketType?: number;
  /** KEY=VALUE strings; empty unless given. */
  env?: string[];
}

/**
 * Spawn PATH with ARGS as a child of PARENT. STDIO[i] becomes the child's fd i; a new socket
 * becomes its fd SYNC_FD (STDIO.length), and EXTRA[i] its fd SYNC_FD+1+i.
 */
export async function spawnWithSocket(parent: ProcessParent, path: string, args: string[], stdio: (number | 'ignore')[], syncFd: number, extra: number[] = [], opts: SpawnOptions = {}): Promise<Spawned> {
  const [ours, theirs] = socketPair(opts.socketType);
  const fds = [...stdio];
  fds[syncFd] = theirs;
  extra.forEach((fd, i) => (fds[syncFd + 1 + i] = fd));
  try {
    return { pid: await parent.spawn(path, [path, ...args], opts.env ?? [], fds), socket: ours };
  } catch (e) {
    closeFd(ours);
    throw e;
  } finally {
    closeFd(theirs);
  }
}
