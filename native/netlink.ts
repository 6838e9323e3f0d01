// A small rtnetlink client (netlink(7), rtnetlink(7)): links and addresses, enough to move a network
// device into a container's network namespace with its addresses. Messages are built as the kernel
// lays them out: nlmsghdr, the family header (ifinfomsg, ifaddrmsg), then attributes.
import { closeSync, openSync } from 'node:fs';
import { SyscallError } from './errors.js';
import { koffi, libc } from './libc.js';
import { closeFd } from './syscalls.js';

const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  send: libc.func('long send(int fd, const uint8_t *buf, size_t len, int flags)'),
  recv: libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)'),
  setns: libc.func('int setns(int fd, int nstype)'),
};

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const CLONE_NEWNET = 0x40000000;

export const RTM = { NEWLINK: 16, GETLINK: 18, NEWADDR: 20, GETADDR: 22 } as const;
const NLM_F = { REQUEST: 0x1, ACK: 0x4, EXCL: 0x200, DUMP: 0x300, CREATE: 0x400 } as const;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
export const IFLA = { IFNAME: 3, NET_NS_FD: 28 } as const;
export const IFA = { ADDRESS: 1, LOCAL: 2, BROADCAST: 4, FLAGS: 8 } as const;
export const IFF_UP = 0x1;

/** An attribute: its type and its payload. */
export interface Attr {
  type: number;
  data: Buffer;
}

export const u32Attr = (type: number, n: number): Attr => {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(n);
  return { type, data };
};
export const stringAttr = (type: number, s: string): Attr => ({ type, data: Buffer.from(s + '\0') });

const align4 = (n: number) => (n + 3) & ~3;

function encodeAttrs(attrs: Attr[]): Buffer {
  return Buffer.concat(
    attrs.map((a) => {
      const b = Buffer.alloc(align4(4 + a.data.length));
      b.writeUInt16LE(4 + a.data.length, 0);
      b.writeUInt16LE(a.type, 2);
      a.data.copy(b, 4);
      return b;
    }),
  );
}

/** The attributes of BUF from OFFSET on, by type (the last of a type wins). */
export function decodeAttrs(buf: Buffer, offset: number): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  while (offset + 4 <= buf.length) {
    const len = buf.readUInt16LE(offset);
    if (len < 4 || offset + len > buf.length) break;
    attrs.set(buf.readUInt16LE(offset + 2) & 0x3fff, buf.subarray(offset + 4, offset + len));
    offset += align4(len);
  }
  return attrs;
}

/** struct ifinfomsg: family, type, index, flags, change. */
export function ifinfomsg(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

/** struct ifaddrmsg: family, prefixlen, flags, scope, index. */
export function ifaddrmsg(family: number, prefixlen: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.from([family, prefixlen, flags, scope, 0, 0, 0, 0]);
  b.writeUInt32LE(index, 4);
  return b;
}

/** A NETLINK_ROUTE socket of one network namespace; requests are answered in order. */
export class RouteSocket {
  private seq = 0;
  private constructor(private readonly fd: number) {}

  /** A socket in this thread's network namespace. */
  static open(): RouteSocket {
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new SyscallError('socket', koffi.errno(), 'netlink');
    return new RouteSocket(fd);
  }

  /**
   * A socket in the network namespace NSFD (WHAT names it): made there, it talks to that namespace
   * for good. The thread enters the namespace only to make it and comes back at once (a network
   * namespace is a thread's own; nothing else runs on this thread in between).
   */
  static openIn(nsFd: number, what: string): RouteSocket {
    const own = openSync('/proc/thread-self/ns/net', 'r');
    try {
      if (c.setns(nsFd, CLONE_NEWNET) < 0) throw new SyscallError('setns', koffi.errno(), what);
      try {
        return RouteSocket.open();
      } finally {
        // Back before anything else: berth's own thread must never stay in a container's namespace.
        if (c.setns(own, CLONE_NEWNET) < 0) throw new Error(`berth could not return to its own network namespace: ${new SyscallError('setns', koffi.errno()).message}`);
      }
    } finally {
      closeSync(own);
    }
  }

  close(): void {
    closeFd(this.fd);
  }

  /** Send one request; its replies (a dump's messages, or none for an acked change). WHAT names it in errors. */
  request(type: number, flags: number, header: Buffer, attrs: Attr[], what: string): Buffer[] {
    const seq = ++this.seq;
    const body = Buffer.concat([header, encodeAttrs(attrs)]);
    const msg = Buffer.alloc(16 + body.length);
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(type, 4);
    msg.writeUInt16LE(NLM_F.REQUEST | NLM_F.ACK | flags, 6);
    msg.writeUInt32LE(seq, 8);
    body.copy(msg, 16);
    if (Number(c.send(this.fd, msg, msg.length, 0)) < 0) throw new SyscallError('send', koffi.errno(), what);
    const replies: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = Number(c.recv(this.fd, buf, buf.length, 0));
      if (n < 0) throw new SyscallError('recv', koffi.errno(), what);
      for (let off = 0; off + 16 <= n; ) {
        const len = buf.readUInt32LE(off);
        const kind = buf.readUInt16LE(off + 4);
        if (len < 16 || off + len > n) throw new SyscallError('recv', 71 /* EPROTO */, `${what}: a truncated netlink message`);
        if (buf.readUInt32LE(off + 8) === seq) {
          if (kind === NLMSG_DONE) return replies;
          if (kind === NLMSG_ERROR) {
            const errno = -buf.readInt32LE(off + 16);
            if (errno) throw new SyscallError('netlink', errno, what);
            return replies; // the ack
          }
          replies.push(Buffer.from(buf.subarray(off + 16, off + len)));
        }
        off += align4(len);
      }
    }
  }

  /** The links of the namespace: index and name. */
  links(): { index: number; name: string }[] {
    return this.request(RTM.GETLINK, NLM_F.DUMP, ifinfomsg(0), [], 'list the network devices').map((m) => ({
      index: m.readInt32LE(4),
      name: decodeAttrs(m, 16).get(IFLA.IFNAME)?.toString().replace(/\0.*$/s, '') ?? '',
    }));
  }

  /** The addresses of the namespace, each as its ifaddrmsg and attributes. */
  addresses(): { family: number; prefixlen: number; flags: number; scope: number; index: number; attrs: Map<number, Buffer> }[] {
    return this.request(RTM.GETADDR, NLM_F.DUMP, ifaddrmsg(0, 0, 0, 0, 0), [], 'list the addresses').map((m) => ({
      family: m[0]!,
      prefixlen: m[1]!,
      flags: m[2]!,
      scope: m[3]!,
      index: m.readUInt32LE(4),
      attrs: decodeAttrs(m, 8),
    }));
  }

  /** Change a link (RTM_NEWLINK on an existing index). */
  setLink(header: Buffer, attrs: Attr[], what: string): void {
    this.request(RTM.NEWLINK, 0, header, attrs, what);
  }

  /** Add an address; one that is there already is an error. */
  addAddress(header: Buffer, attrs: Attr[], what: string): void {
    this.request(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, header, attrs, what);
  }
}
