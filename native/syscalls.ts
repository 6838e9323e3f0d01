// koffi bindings for the system calls Node does not offer. Each wrapper throws SyscallError.
import { SyscallError } from './errors.js';
import { koffi, libc } from './libc.js';


const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;
const SYS_bpf = process.arch === 'arm64' ? 280 : 321;
const SYS_open_tree = 428;
const SYS_mount_setattr = 442;
const SYS_seccomp = process.arch === 'arm64' ? 277 : 317;

const c = {
  flock: libc.func('int flock(int fd, int op)'),
  mkfifo: libc.func('int mkfifo(const char *path, uint32_t mode)'),
  waitid: libc.func('int waitid(int idtype, int id, _Out_ uint8_t *info, int options)'),
  poll: libc.func('int poll(_Inout_ uint8_t *fds, uint64_t nfds, int timeout)'),
  syscall: libc.func('long syscall(long number, ...)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  mount: libc.func('int mount(const char *source, const char *target, const char *type, unsigned long flags, const void *data)'),
  close: libc.func('int close(int fd)'),
  getpagesize: libc.func('int getpagesize(void)'),
  socketpair: libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *fds)'),
  pipe2: libc.func('int pipe2(_Out_ int *fds, int flags)'),
  eventfd: libc.func('int eventfd(unsigned int initval, int flags)'),
  read: libc.func('long read(int fd, _Out_ uint8_t *buf, size_t count)'),
  renameat2: libc.func('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)'),
  malloc_trim: libc.func('int malloc_trim(size_t pad)'),
};

/** Give the memory malloc holds free back to the kernel (glibc keeps it after a burst of calls). */
export function trimMalloc(): void {
  c.malloc_trim(0);
}

function check(call: string, r: number | bigint, path?: string): number {
  if (Number(r) < 0) throw new SyscallError(call, koffi.errno(), path);
  return Number(r);
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;

/** flock(2). With LOCK_NB, returns false when the lock is held elsewhere. */
export function flock(fd: number, op: number, path?: string): boolean {
  const r = c.flock(fd, op);
  if (r < 0) {
    const errno = koffi.errno();
    if (errno === 11 /* EWOULDBLOCK */ && op & LOCK_NB) return false;
    throw new SyscallError('flock', errno, path);
  }
  return true;
}

const MNT_DETACH = 2;
/** Detach the mount at PATH (lazy unmount). */
export function detachMount(path: string): void {
  check('umount2', c.umount2(path, MNT_DETACH), path);
}

const MS_BIND = 0x1000;
const MS_REC = 0x4000;

/** Bind SOURCE, and the mounts below it, on TARGET, in berth's own mount namespace. */
export function bindMount(source: string, target: string): void {
  check('mount', c.mount(source, target, null, MS_BIND | MS_REC, null), `${source} on ${target}`);
}

const AT_FDCWD = -100;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;

/** Rename A to B unless B exists (renameat2's RENAME_NOREPLACE): a directory is never put over another, even an empty one. */
export function renameNoReplace(a: string, b: string): void {
  check('renameat2', c.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE), `${a} to ${b}`);
}

/**
 * Swap what paths A and B name, atomically (renameat2's RENAME_EXCHANGE). False when B does not
 * exist or the file system or kernel cannot (ENOENT, EINVAL, ENOSYS): then a rename is the caller's way.
 */
export function exchangePaths(a: string, b: string): boolean {
  if (c.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) === 0) return true;
  const errno = koffi.errno();
  if (errno === 2 /* ENOENT */ || errno === 22 /* EINVAL */ || errno === 38 /* ENOSYS */) return false;
  throw new SyscallError('renameat2', errno, `${a} and ${b}`);
}

export function mkfifo(path: string, mode: number): void {
  check('mkfifo', c.mkfifo(path, mode), path);
}

/**
 * Close an fd this module's calls opened. Not fs.closeSync: in a worker thread Node tracks the fds
 * fs opened and warns about closing others.
 */
export function closeFd(fd: number): void {
  c.close(fd);
}

const SECCOMP_SET_MODE_FILTER = 1;

/**
 * Whether the kernel takes the seccomp filter FLAGS. Asked with no filter, it checks the flags
 * (EINVAL) before it reads the filter (EFAULT): nothing is loaded. libseccomp asks the same way.
 */
export function seccompTakesFlags(flags: number): boolean {
  return Number(c.syscall(SYS_seccomp, 'uint', SECCOMP_SET_MODE_FILTER, 'uint', flags, 'void *', null)) < 0 && koffi.errno() === 14 /* EFAULT */;
}

export const SOCK_STREAM = 1;
/** Message boundaries kept, as CRIU's RPC wants. */
export const SOCK_SEQPACKET = 5;

/** A connected pair of unix sockets (stream by default), close-on-exec. */
export function socketPair(type = SOCK_STREAM): [number, number] {
  const fds = new Int32Array(2);
  check('socketpair', c.socketpair(1 /* AF_UNIX */, type | 0o2000000 /* SOCK_CLOEXEC */, 0, fds));
  return [fds[0]!, fds[1]!];
}

/** A pipe, close-on-exec: [read end, write end]. */
export function pipePair(): [number, number] {
  const fds = new Int32Array(2);
  check('pipe2', c.pipe2(fds, 0o2000000 /* O_CLOEXEC */));
  return [fds[0]!, fds[1]!];
}

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const EAGAIN = 11;

/** A non-blocking eventfd: read it when convenient (readEventFd) rather than waiting on it. */
export function eventFd(): number {
  return check('eventfd', c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

/** The eventfd's count since the last read (reading resets it); 0 when nothing happened. */
export function readEventFd(fd: number): number {
  const buf = Buffer.alloc(8);
  if (c.read(fd, buf, 8) < 0) {
    const errno = koffi.errno();
    if (errno === EAGAIN) return 0;
    throw new SyscallError('read', errno, `eventfd ${fd}`);
  }
  return Number(buf.readBigUInt64LE(0));
}

export function pidfdOpen(pid: number): number {
  return check('pidfd_open', c.syscall(SYS_pidfd_open, 'int', pid, 'uint', 0), String(pid));
}

const ESRCH = 3;

/** A pidfd for PID, or null when there is no such process (no error is made for that common case). */
export function pidfdOpenIfAlive(pid: number): number | null {
  const r = Number(c.syscall(SYS_pidfd_open, 'int', pid, 'uint', 0));
  if (r >= 0) return r;
  const errno = koffi.errno();
  if (errno === ESRCH) return null;
  throw new SyscallError('pidfd_open', errno, String(pid));
}

export function pidfdSendSignal(pidfd: number, signal: number, what?: string): void {
  check('pidfd_send_signal', c.syscall(SYS_pidfd_send_signal, 'int', pidfd, 'int', signal, 'void *', null, 'uint', 0), what);
}

export interface ChildExit {
  pid: number;
  /** Exit status when the process exited, else null. */
  exitCode: number | null;
  /** Signal number when the process was killed, else null. */
  signal: number | null;
}

const P_ALL = 0;
const P_PID = 1;
const WEXITED = 4;
const WNOHANG = 1;
const WNOWAIT = 0x01000000;
const CLD_EXITED = 1;
const ECHILD = 10;

function decodeExit(pid: number, info: Buffer): ChildExit {
  // siginfo_t: si_signo, si_errno, si_code, then (pid, uid, status) for SIGCHLD
  const code = info.readInt32LE(8);
  const status = info.readInt32LE(24);
  return code === CLD_EXITED ? { pid, exitCode: status, signal: null } : { pid, exitCode: null, signal: status };
}

/**
 * Reap PID if it has exited (waitid, WNOHANG); with LEAVE_ZOMBIE only read how it ended (WNOWAIT),
 * for whoever reaps it. Null while it runs, or when it is not our child.
 */
export function reapChild(pid: number, leaveZombie = false): ChildExit | null {
  const info = Buffer.alloc(128);
  if (c.waitid(P_PID, pid, info, WEXITED | WNOHANG | (leaveZombie ? WNOWAIT : 0)) < 0) {
    const errno = koffi.errno();
    if (errno === ECHILD) return null; // not this process's child: someone else reaps it
    throw new SyscallError('waitid', errno, String(pid));
  }
  return info.readInt32LE(16) === pid ? decodeExit(pid, info) : null;
}

/**
 * The pid of a child of this process that has exited and not been reaped yet — the oldest such —
 * or 0 when there is none. Nothing is reaped (WNOWAIT): the child is left for whoever reaps it.
 */
export function exitedChild(): number {
  const info = Buffer.alloc(128);
  if (c.waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) < 0) {
    const errno = koffi.errno();
    if (errno === ECHILD) return 0; // no children at all
    throw new SyscallError('waitid', errno, 'any child');
  }
  return info.readInt32LE(16);
}

/** Wait for the child PID to exit and reap it (blocking: for a child known to be exiting). */
export function waitChild(pid: number): ChildExit {
  const info = Buffer.alloc(128);
  for (;;) {
    if (c.waitid(P_PID, pid, info, WEXITED) === 0) break;
    const errno = koffi.errno();
    if (errno !== 4 /* EINTR */) throw new SyscallError('waitid', errno, String(pid));
  }
  return decodeExit(pid, info);
}

const POLLIN = 1;
const POLLPRI = 2;

/** A struct pollfd asking for EVENTS on FD (POLLIN: whether it is readable). */
function pollIn(fd: number, events = POLLIN): Buffer {
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(fd, 0);
  fds.writeInt16LE(events, 4);
  return fds;
}

/** Wait until FD is readable, on libuv's thread pool (one of its four threads is held meanwhile). */
export function untilReadable(fd: number): Promise<void> {
  const fds = pollIn(fd);
  return new Promise((resolve, reject) => {
    // The pool thread's errno cannot be read from here; for an fd of ours, a failed poll is a
    // signal that interrupted it (EINTR), so it is polled again.
    const once = () =>
      c.poll.async(fds, 1, -1, (err: unknown, r: number) => {
        if (err) reject(err);
        else if (r < 0) once();
        else resolve();
      });
    once();
  });
}

/** True when FD is readable now (for a pidfd: its process has exited). */
export function isReadable(fd: number, what: string): boolean {
  return pollNow(pollIn(fd), what);
}

/** True when FD has an exceptional condition now (for /proc/self/mountinfo: the mount table changed since FD was opened). */
export function hasPriorityEvent(fd: number, what: string): boolean {
  return pollNow(pollIn(fd, POLLPRI), what);
}

function pollNow(fds: Buffer, what: string): boolean {
  for (;;) {
    const r = c.poll(fds, 1, 0);
    if (r >= 0) return r > 0;
    const errno = koffi.errno();
    if (errno !== 4 /* EINTR: a signal came (SIGCHLD, often) */) throw new SyscallError('poll', errno, what);
  }
}

export const pageSize = (): number => c.getpagesize();

// bpf(2), for cgroup v2 device filters. Commands and constants from linux/bpf.h.
const BPF = { PROG_LOAD: 5, PROG_ATTACH: 8, PROG_DETACH: 9, PROG_GET_FD_BY_ID: 13, PROG_QUERY: 16 } as const;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** Other programs (systemd's, a parent's) stay attached; every one of them must allow an access. */
const BPF_F_ALLOW_MULTI = 2;
/** Big enough for every command used here; the kernel reads the unused tail as zeroes. */
const BPF_ATTR_SIZE = 48;

/** bpf(CMD) with a union bpf_attr that FILL sets; returns the result and the attr (some commands write to it). */
function bpf(cmd: keyof typeof BPF, fill: (attr: Buffer) => void, what: string): { r: number; attr: Buffer } {
  const attr = Buffer.alloc(BPF_ATTR_SIZE);
  fill(attr);
  const r = check(`bpf ${cmd}`, c.syscall(SYS_bpf, 'int', BPF[cmd], 'void *', attr, 'uint', attr.length), what);
  return { r, attr };
}

/** Memory that does not move (bpf_attr holds pointers to it): a view of it and its address. */
function nativeMemory<T>(size: number, use: (bytes: Uint8Array, address: bigint) => T): T {
  const mem = koffi.alloc('uint8_t', size);
  try {
    return use(new Uint8Array(koffi.view(mem, size)), koffi.address(mem));
  } finally {
    koffi.free(mem);
  }
}

const VERIFIER_LOG_SIZE = 64 * 1024;

/** Load INSNS (encoded struct bpf_insn) as a cgroup device program. A refused one is reported with the verifier's last words. */
export function loadDeviceProgram(insns: Buffer, what: string): number {
  const license = Buffer.from('Apache-2.0\0');
  return nativeMemory(insns.length + license.length, (code, base) => {
    code.set(insns);
    code.set(license, insns.length);
    const load = (logLevel: number, log: bigint, logSize: number) =>
      bpf('PROG_LOAD', (a) => {
        a.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
        a.writeUInt32LE(insns.length / 8, 4);
        a.writeBigUInt64LE(base, 8);
        a.writeBigUInt64LE(base + BigInt(insns.length), 16);
        a.writeUInt32LE(logLevel, 24);
        a.writeUInt32LE(logSize, 28);
        a.writeBigUInt64LE(log, 32);
      }, what).r;
    try {
      return load(0, 0n, 0);
    } catch (e) {
      // Load again, asking for the verifier's log this time.
      nativeMemory(VERIFIER_LOG_SIZE, (log, address) => {
        try {
          closeFd(load(1, address, log.length));
        } catch {
          const text = Buffer.from(log).toString('utf8').replace(/\0[\s\S]*$/, '').trim();
          if (e instanceof Error && text) e.message += `: ${text.split('\n').slice(-2).join(' | ')}`;
        }
      });
      throw e;
    }
  });
}

function attachAttr(cgroupFd: number, progFd: number, flags: number) {
  return (a: Buffer) => {
    a.writeUInt32LE(cgroupFd, 0);
    a.writeUInt32LE(progFd, 4);
    a.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    a.writeUInt32LE(flags, 12);
  };
}

export function attachDeviceProgram(cgroupFd: number, progFd: number, what: string): void {
  bpf('PROG_ATTACH', attachAttr(cgroupFd, progFd, BPF_F_ALLOW_MULTI), what);
}

export function detachDeviceProgram(cgroupFd: number, progFd: number, what: string): void {
  bpf('PROG_DETACH', attachAttr(cgroupFd, progFd, 0), what);
}

const MAX_QUERIED = 64;

/** Ids of the device programs attached to the cgroup itself (not those of its parents). */
export function attachedDevicePrograms(cgroupFd: number, what: string): number[] {
  return nativeMemory(MAX_QUERIED * 4, (ids, address) => {
    const { attr } = bpf('PROG_QUERY', (a) => {
      a.writeUInt32LE(cgroupFd, 0);
      a.writeUInt32LE(BPF_CGROUP_DEVICE, 4);
      a.writeBigUInt64LE(address, 16);
      a.writeUInt32LE(MAX_QUERIED, 24);
    }, what);
    const view = Buffer.from(ids.buffer, ids.byteOffset, ids.length);
    return Array.from({ length: attr.readUInt32LE(24) }, (_, i) => view.readUInt32LE(i * 4));
  });
}

export function deviceProgramFd(id: number, what: string): number {
  return bpf('PROG_GET_FD_BY_ID', (a) => a.writeUInt32LE(id, 0), what).r;
}

const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const MOUNT_ATTR_IDMAP = 0x100000;

/**
 * A detached clone of the mount at SOURCE (with the mounts below it when RECURSIVE), idmapped
 * with the user namespace USERNS_FD: its fd, for berth-init to attach in the container.
 */
export function idmappedTree(source: string, recursive: boolean, usernsFd: number): number {
  const rec = recursive ? AT_RECURSIVE : 0;
  const tree = check('open_tree', c.syscall(SYS_open_tree, 'int', AT_FDCWD, 'str', source, 'uint', OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec), source);
  const attr = Buffer.alloc(32); // struct mount_attr: attr_set, attr_clr, propagation, userns_fd
  attr.writeBigUInt64LE(BigInt(MOUNT_ATTR_IDMAP), 0);
  attr.writeBigUInt64LE(BigInt(usernsFd), 24);
  try {
    check('mount_setattr(MOUNT_ATTR_IDMAP)', c.syscall(SYS_mount_setattr, 'int', tree, 'str', '', 'uint', AT_EMPTY_PATH | rec, 'void *', attr, 'size_t', attr.length), source);
  } catch (e) {
    closeFd(tree);
    throw e;
  }
  return tree;
}
