// The process at the other end of a unix socket: who it is (SO_PEERCRED, which the kernel fills in
// at connect time and the peer cannot forge), and copies of its fds (pidfd_getfd: the same open
// file, as SCM_RIGHTS would give, without a socket read of our own beside Node's).
import { SyscallError } from './errors.js';
import { koffi, libc } from './libc.js';

const SYS_pidfd_getfd = 438;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

const c = {
  getsockopt: libc.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *len)'),
  syscall: libc.func('long syscall(long number, ...)'),
};

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export function peerCredentials(sock: number): PeerCredentials {
  const cred = Buffer.alloc(12);
  const len = new Uint32Array([cred.length]);
  if (c.getsockopt(sock, SOL_SOCKET, SO_PEERCRED, cred, len) < 0) throw new SyscallError('getsockopt(SO_PEERCRED)', koffi.errno());
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) };
}

/** A copy (close-on-exec) of fd FD of the process PIDFD (pidfdOpen's) refers to. */
export function copyPeerFd(pidfd: number, fd: number): number {
  const r = Number(c.syscall(SYS_pidfd_getfd, 'int', pidfd, 'int', fd, 'uint', 0));
  if (r < 0) throw new SyscallError('pidfd_getfd', koffi.errno(), `fd ${fd}`);
  return r;
}
