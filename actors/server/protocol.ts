// The wire protocol between cli/berth (the native client, cli/client/berth.c) and the berth server:
// length-prefixed frames over a unix stream socket. This file is its single source: the client's
// C header is generated from the tables below (cHeader).
//
// A frame is u32 length (of what follows), u8 type, then the body. Integers are little-endian;
// a string is u32 length + bytes; a list is u32 count + items.
//
//   client → server   CALL     i32 version, list<str> argv (without argv[0]), list<str> env, str cwd
//                     REPLY    u32 request, i32 result, i32 a, i32 b       (the answer to a request)
//                     STDIN    u32 request, str data                      (the answer to READ_STDIN)
//                     SIGNAL   i32 signo                                   (only after FORWARD)
//   server → client   ACCEPTED i32 version                   (the call is being handled: never retry it)
//                     SPAWN    u32 request, i32 exeFd, str path, list<str> argv, list<str> env,
//                              list<(i32 kind, i32 fd)> fds  → REPLY result = pid or -errno
//                     WAIT     u32 request, i32 pid           → REPLY result = pid or -errno,
//                                                               a = exit code or -1, b = signal or 0
//                     WRITE    i32 fd (1 or 2), str data
//                     TERMINAL u32 request, i32 fd            → REPLY result = 0 or -errno, then the
//                                                               client proxies its terminal to that pty
//                     FORWARD                                (from now on, send SIGNAL for signals)
//                     READ_STDIN u32 request                 → STDIN with all of fd 0
//                     EXIT     i32 code                      (the call is over)
//
// fds named by the server (SPAWN's exeFd and fds of kind SERVER, TERMINAL's fd) are the server's:
// the client takes copies with pidfd_getfd before it replies, and the server closes its own after
// the reply. Spawned processes are the client's children, as runc's are its caller's: that is
// the point of SPAWN.

export const PROTOCOL_VERSION = 1;
/** Larger frames are refused: a call is argv, env and a path. */
export const MAX_FRAME = 1 << 22;

export const ClientMsg = { CALL: 1, REPLY: 2, STDIN: 3, SIGNAL: 4 } as const;
export const ServerMsg = { ACCEPTED: 64, SPAWN: 65, WAIT: 66, WRITE: 67, TERMINAL: 68, FORWARD: 69, READ_STDIN: 70, EXIT: 71 } as const;
/** Where a spawned process's fd comes from. */
export const FdKind = { NULL: 0, SERVER: 1, CLIENT: 2 } as const;

/** The folder under a state root that holds the server's socket, lock and log (not a valid container id). */
export const SERVER_DIR = '@server';

class Writer {
  private parts: Buffer[] = [];
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string | Buffer): this {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    this.u32(b.length).parts.push(b);
    return this;
  }
  strs(list: string[]): this {
    this.u32(list.length);
    for (const s of list) this.str(s);
    return this;
  }
  frame(type: number): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(5);
    head.writeUInt32LE(body.length + 1);
    head.writeUInt8(type, 4);
    return Buffer.concat([head, body]);
  }
}

export class ProtocolError extends Error {}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.b.length) throw new ProtocolError('truncated message');
  }
  i32(): number {
    this.need(4);
    this.at += 4;
    return this.b.readInt32LE(this.at - 4);
  }
  u32(): number {
    this.need(4);
    this.at += 4;
    return this.b.readUInt32LE(this.at - 4);
  }
  buf(): Buffer {
    const n = this.u32();
    this.need(n);
    this.at += n;
    return this.b.subarray(this.at - n, this.at);
  }
  str(): string {
    return this.buf().toString('utf8');
  }
  strs(): string[] {
    const n = this.u32();
    if (n > this.b.length) throw new ProtocolError('truncated message');
    return Array.from({ length: n }, () => this.str());
  }
  end(): void {
    if (this.at !== this.b.length) throw new ProtocolError('trailing bytes in message');
  }
}

export interface Call {
  version: number;
  argv: string[];
  env: string[];
  cwd: string;
}

export type ClientMessage =
  | ({ type: 'call' } & Call)
  | { type: 'reply'; request: number; result: number; a: number; b: number }
  | { type: 'stdin'; request: number; data: Buffer }
  | { type: 'signal'; signo: number };

export interface SpawnRequest {
  request: number;
  /** The executable as an fd of the server's (a sealed copy), or -1 to exec PATH. */
  exeFd: number;
  path: string;
  argv: string[];
  env: string[];
  fds: { kind: number; fd: number }[];
}

export const encodeServer = {
  accepted: () => new Writer().i32(PROTOCOL_VERSION).frame(ServerMsg.ACCEPTED),
  spawn: (s: SpawnRequest) => {
    const w = new Writer().u32(s.request).i32(s.exeFd).str(s.path).strs(s.argv).strs(s.env).u32(s.fds.length);
    for (const f of s.fds) w.i32(f.kind).i32(f.fd);
    return w.frame(ServerMsg.SPAWN);
  },
  wait: (request: number, pid: number) => new Writer().u32(request).i32(pid).frame(ServerMsg.WAIT),
  write: (fd: 1 | 2, data: string | Buffer) => new Writer().i32(fd).str(data).frame(ServerMsg.WRITE),
  terminal: (request: number, fd: number) => new Writer().u32(request).i32(fd).frame(ServerMsg.TERMINAL),
  forward: () => new Writer().frame(ServerMsg.FORWARD),
  readStdin: (request: number) => new Writer().u32(request).frame(ServerMsg.READ_STDIN),
  exit: (code: number) => new Writer().i32(code).frame(ServerMsg.EXIT),
};

/** What a client sends (the native client's side, for tests and tools written in TypeScript). */
export const encodeClient = {
  call: (c: Call) => new Writer().i32(c.version).strs(c.argv).strs(c.env).str(c.cwd).frame(ClientMsg.CALL),
  reply: (request: number, result: number, a = 0, b = 0) => new Writer().u32(request).i32(result).i32(a).i32(b).frame(ClientMsg.REPLY),
  stdin: (request: number, data: Buffer) => new Writer().u32(request).str(data).frame(ClientMsg.STDIN),
  signal: (signo: number) => new Writer().i32(signo).frame(ClientMsg.SIGNAL),
};

export function decodeClient(type: number, body: Buffer): ClientMessage {
  const r = new Reader(body);
  let m: ClientMessage;
  switch (type) {
    case ClientMsg.CALL:
      m = { type: 'call', version: r.i32(), argv: r.strs(), env: r.strs(), cwd: r.str() };
      break;
    case ClientMsg.REPLY:
      m = { type: 'reply', request: r.u32(), result: r.i32(), a: r.i32(), b: r.i32() };
      break;
    case ClientMsg.STDIN:
      m = { type: 'stdin', request: r.u32(), data: Buffer.from(r.buf()) };
      break;
    case ClientMsg.SIGNAL:
      m = { type: 'signal', signo: r.i32() };
      break;
    default:
      throw new ProtocolError(`unknown message type ${type}`);
  }
  r.end();
  return m;
}

/** Splits a byte stream into frames; throws ProtocolError on a frame that cannot be one. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { type: number; body: Buffer }[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: { type: number; body: Buffer }[] = [];
    while (this.buffered.length >= 4) {
      const len = this.buffered.readUInt32LE(0);
      if (len < 1 || len > MAX_FRAME) throw new ProtocolError(`bad frame length ${len}`);
      if (this.buffered.length < 4 + len) break;
      frames.push({ type: this.buffered.readUInt8(4), body: this.buffered.subarray(5, 4 + len) });
      this.buffered = this.buffered.subarray(4 + len);
    }
    return frames;
  }
  /** Bytes of an unfinished frame are left. */
  get partial(): boolean {
    return this.buffered.length > 0;
  }
}

/** The C header the client is compiled with: the codes above, and the global flags it must skip to find --root. */
export function cHeader(facts: { defaultRoot: string; userRootDir: string; rootModes: { root: number; user: number }; valueFlags: string[]; node: string }): string {
  const lines = ['/* Generated from actors/server/protocol.ts and cli/options.ts by cli/client/build.ts: do not edit. */', '#pragma once'];
  lines.push(`#define PROTOCOL_VERSION ${PROTOCOL_VERSION}`, `#define MAX_FRAME ${MAX_FRAME}`);
  for (const [k, v] of Object.entries(ClientMsg)) lines.push(`#define C_${k} ${v}`);
  for (const [k, v] of Object.entries(ServerMsg)) lines.push(`#define S_${k} ${v}`);
  for (const [k, v] of Object.entries(FdKind)) lines.push(`#define FD_${k} ${v}`);
  lines.push(`#define SERVER_DIR ${JSON.stringify(SERVER_DIR)}`, `#define DEFAULT_ROOT ${JSON.stringify(facts.defaultRoot)}`, `#define USER_ROOT_DIR ${JSON.stringify(facts.userRootDir)}`, `#define ROOT_MODE_ROOT 0${facts.rootModes.root.toString(8)}`, `#define ROOT_MODE_USER 0${facts.rootModes.user.toString(8)}`, `#define NODE_PATH ${JSON.stringify(facts.node)}`);
  lines.push(`static const char *const value_flags[] = { ${[...facts.valueFlags.map((f) => JSON.stringify(f)), 'NULL'].join(', ')} };`);
  return lines.join('\n') + '\n';
}
