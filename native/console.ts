// Terminals on berth's side: the console socket a container's pty master is sent over (the
// protocol of runc's --console-socket, which conmon and containerd's shim speak), receiving that
// master when berth proxies its own terminal, and window sizes. Messages that carry an fd (CRIU's
// RPC sends a restored terminal's master that way) are received and sent here too, and so is the
// pidfd a --pidfd-socket asks for, and a seccomp listener for its agent.
import { SyscallError } from './errors.js';
import { koffi, libc } from './libc.js';
import { closeFd, pidfdOpen, untilReadable } from './syscalls.js';

koffi.struct('iovec', { base: 'void *', len: 'size_t' });
koffi.struct('msghdr', { name: 'void *', namelen: 'uint32', iov: 'iovec *', iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int' });

const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  connect: libc.func('int connect(int fd, const void *addr, uint32_t len)'),
  recvmsg: libc.func('long recvmsg(int fd, _Inout_ msghdr *msg, int flags)'),
  sendmsg: libc.func('long sendmsg(int fd, const msghdr *msg, int flags)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
};

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const TIOCSWINSZ = 0x5414;
const TIOCGPTN = 0x80045430;
const MSG_NOSIGNAL = 0x4000;

/** Connect to the unix socket at PATH; the fd. FLAGS: socket type flags (SOCK_NONBLOCK). */
export function connectUnixSocket(path: string, flags = 0): number {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  if (Buffer.byteLength(path) > 107) throw new SyscallError('connect', 36 /* ENAMETOOLONG */, path);
  addr.write(path, 2);
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) throw new SyscallError('socket', koffi.errno(), path);
  if (c.connect(fd, addr, addr.length) < 0) {
    const errno = koffi.errno();
    closeFd(fd);
    throw new SyscallError('connect', errno, path);
  }
  return fd;
}

const MSG_DONTWAIT = 0x40;

export interface Received {
  data: Buffer;
  /** An fd that came with it (SCM_RIGHTS), close-on-exec. */
  fd?: number;
}

/** Receive one message of up to SIZE bytes on SOCK, and an fd sent with it; null when FLAGS has MSG_DONTWAIT and none is there. */
function receiveMessage(sock: number, size: number, flags: number, what: string): Received | null {
  const control = Buffer.alloc(64);
  const data = Buffer.alloc(size);
  const msg = { name: null, namelen: 0, iov: [{ base: data, len: size }], iovlen: 1, control, controllen: control.length, flags: 0 };
  const n = Number(c.recvmsg(sock, msg, flags | MSG_CMSG_CLOEXEC));
  if (n < 0) {
    const errno = koffi.errno();
    if (errno === 11 /* EAGAIN */ && flags & MSG_DONTWAIT) return null;
    throw new SyscallError('recvmsg', errno, what);
  }
  // struct cmsghdr: len (8 bytes), level, type, then the fd
  const hasFd = msg.controllen >= 20 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS;
  return { data: data.subarray(0, n), fd: hasFd ? control.readInt32LE(16) : undefined };
}

/** The next message of up to SIZE bytes on SOCK, and an fd sent with it; waited for on libuv's pool (a poll), not on the event loop. */
export async function nextMessage(sock: number, size: number, what: string): Promise<Received> {
  for (;;) {
    await untilReadable(sock);
    const got = receiveMessage(sock, size, MSG_DONTWAIT, what);
    if (got) return got;
  }
}

/** Receive one fd sent with SCM_RIGHTS on SOCK (blocking). */
export function receiveFd(sock: number): number {
  const { fd } = receiveMessage(sock, 256, 0, 'console socket')!;
  if (fd === undefined) throw new SyscallError('recvmsg', 71 /* EPROTO */, 'console socket: no fd came');
  return fd;
}

/** Send FD over SOCK with SCM_RIGHTS and NAME as the message (runc's console-socket protocol), all of NAME. */
export function sendFd(sock: number, fd: number, name: string, what: string): void {
  const control = Buffer.alloc(24);
  control.writeBigUInt64LE(20n, 0); // cmsg_len: the header (16 bytes) and one int
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(fd, 16);
  const data = Buffer.from(name);
  // A signal may cut a send short: the rest follows without the fd, which went with the first part.
  let sent = 0;
  do {
    const rest = data.subarray(sent);
    const first = sent === 0;
    const msg = { name: null, namelen: 0, iov: [{ base: rest, len: rest.length }], iovlen: 1, control: first ? control : null, controllen: first ? control.length : 0, flags: 0 };
    const n = Number(c.sendmsg(sock, msg, MSG_NOSIGNAL));
    if (n < 0) throw new SyscallError('sendmsg', koffi.errno(), what);
    sent += n;
  } while (sent < data.length);
}

/** Send FD over SOCK behind the byte 1, or (FD null) the byte 0 alone: the end of fds a SYNC hands berth-init. */
export function sendFdOrEnd(sock: number, fd: number | null): void {
  if (fd !== null) return sendFd(sock, fd, '\x01', 'berth-init');
  const msg = { name: null, namelen: 0, iov: [{ base: Buffer.from([0]), len: 1 }], iovlen: 1, control: null, controllen: 0, flags: 0 };
  if (Number(c.sendmsg(sock, msg, MSG_NOSIGNAL)) < 0) throw new SyscallError('sendmsg', koffi.errno(), 'berth-init');
}

/**
 * Send FD with DATA on a connection of its own to the unix socket at PATH, closed after. It never
 * waits (a unix socket's connect and send fail with EAGAIN instead): a receiver that does not
 * accept, or read, must not stall the berth server's thread, which serves every call.
 */
export function sendFdTo(path: string, fd: number, data: string): void {
  const sock = connectUnixSocket(path, SOCK_NONBLOCK);
  try {
    sendFd(sock, fd, data, path);
  } finally {
    closeFd(sock);
  }
}

/** Send a pidfd of PID over the unix socket at SOCKET (runc's --pidfd-socket: one fd, no name). */
export function sendPidfd(socket: string, pid: number): void {
  const pidfd = pidfdOpen(pid);
  try {
    sendFdTo(socket, pidfd, 'pidfd');
  } finally {
    closeFd(pidfd);
  }
}

/** A pty's name, /dev/pts/N, from its master. */
export function ptyName(master: number): string {
  const n = new Int32Array(1);
  if (c.ioctl(master, TIOCGPTN, 'int *', n) < 0) throw new SyscallError('ioctl(TIOCGPTN)', koffi.errno());
  return `/dev/pts/${n[0]}`;
}

export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  if (c.ioctl(fd, TIOCSWINSZ, 'void *', ws) < 0) throw new SyscallError('ioctl(TIOCSWINSZ)', koffi.errno());
}
