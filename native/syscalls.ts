// koffi bindings for the system calls Node does not offer. Each wrapper throws SyscallError.
import { SyscallError } from './errors.js';
import { koffi, libc } from './libc.js';


const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;

const c = {
  flock: libc.func('int flock(int fd, int op)'),
  mkfifo: libc.func('int mkfifo(const char *path, uint32_t mode)'),
  waitid: libc.func('int waitid(int idtype, int id, _Out_ uint8_t *info, int options)'),
  poll: libc.func('int poll(_Inout_ uint8_t *fds, uint64_t nfds, int timeout)'),
  syscall: libc.func('long syscall(long number, ...)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  close: libc.func('int close(int fd)'),
};

function check(call: string, r: number | bigint, path?: string): number {
  if (Number(r) < 0) throw new SyscallError(call, koffi.errno(), path);
  return Number(r);
}

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

export function pidfdOpen(pid: number): number {
  return check('pidfd_open', c.syscall(SYS_pidfd_open, 'int', pid, 'uint', 0), String(pid));
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

const P_PID = 1;
const WEXITED = 4;
const WNOHANG = 1;
const CLD_EXITED = 1;
const ECHILD = 10;

function decodeExit(pid: number, info: Buffer): ChildExit {
  // siginfo_t: si_signo, si_errno, si_code, then (pid, uid, status) for SIGCHLD
  const code = info.readInt32LE(8);
  const status = info.readInt32LE(24);
  return code === CLD_EXITED ? { pid, exitCode: status, signal: null } : { pid, exitCode: null, signal: status };
}

/** Reap PID if it has exited (waitid, WNOHANG). Null while it runs, or when it is not our child. */
export function reapChild(pid: number): ChildExit | null {
  const info = Buffer.alloc(128);
  if (c.waitid(P_PID, pid, info, WEXITED | WNOHANG) < 0) {
    const errno = koffi.errno();
    if (errno === ECHILD) return null; // not this process's child: someone else reaps it
    throw new SyscallError('waitid', errno, String(pid));
  }
  return info.readInt32LE(16) === pid ? decodeExit(pid, info) : null;
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

/** Wait until the pidfd is readable (the process exited), on the thread pool. False on timeout. */
export function pollPidfd(pidfd: number, timeoutMs: number): Promise<boolean> {
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(pidfd, 0);
  fds.writeInt16LE(1 /* POLLIN */, 4);
  return new Promise((resolve, reject) => {
    c.poll.async(fds, 1, timeoutMs, (err: unknown, r: number) => {
      if (err) reject(err);
      else if (r < 0) reject(new SyscallError('poll', koffi.errno(), `pidfd ${pidfd}`));
      else resolve(r > 0);
    });
  });
}
