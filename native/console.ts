// Terminals on berth's side: the console socket a container's pty master is sent over (the
// protocol of runc's --console-socket, which conmon and containerd's shim speak), receiving that
// master when berth proxies its own terminal, and window sizes.
import { SyscallError } from './errors.js';
import { koffi, libc } from './libc.js';
import { closeFd } from './syscalls.js';

koffi.struct('iovec', { base: 'void *', len: 'size_t' });
koffi.struct('msghdr', { name: 'void *', namelen: 'uint32', iov: 'iovec *', iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int' });

const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  connect: libc.func('int connect(int fd, const void *addr, uint32_t len)'),
  recvmsg: libc.func('long recvmsg(int fd, _Inout_ msghdr *msg, int flags)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
};

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const TIOCSWINSZ = 0x5414;

/** Connect to the unix socket at PATH; the fd. */
export function connectUnixSocket(path: string): number {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  if (Buffer.byteLength(path) > 107) throw new SyscallError('connect', 36 /* ENAMETOOLONG */, path);
  addr.write(path, 2);
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError('socket', koffi.errno(), path);
  if (c.connect(fd, addr, addr.length) < 0) {
    const errno = koffi.errno();
    closeFd(fd);
    throw new SyscallError('connect', errno, path);
  }
  return fd;
}

/** Receive one fd sent with SCM_RIGHTS on SOCK (blocking). */
export function receiveFd(sock: number): number {
  const control = Buffer.alloc(64);
  const msg = { name: null, namelen: 0, iov: [{ base: Buffer.alloc(256), len: 256 }], iovlen: 1, control, controllen: control.length, flags: 0 };
  if (Number(c.recvmsg(sock, msg, MSG_CMSG_CLOEXEC)) < 0) throw new SyscallError('recvmsg', koffi.errno(), 'console socket');
  // struct cmsghdr: len (8 bytes), level, type, then the fd
  if (msg.controllen < 20 || control.readInt32LE(8) !== SOL_SOCKET || control.readInt32LE(12) !== SCM_RIGHTS)
    throw new SyscallError('recvmsg', 71 /* EPROTO */, 'console socket: no fd came');
  return control.readInt32LE(16);
}

export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  if (c.ioctl(fd, TIOCSWINSZ, 'void *', ws) < 0) throw new SyscallError('ioctl(TIOCSWINSZ)', koffi.errno());
}
