// The server's side of one CLI call: the connection to the calling cli/berth process, and what the
// call needs of that process — its output, its stdin, its fds, its signals, its terminal — and the
// process itself as the parent of what the call spawns (protocol.ts says how each travels).
import type { Socket } from 'node:net';
import { BerthError, SyscallError } from '../../native/errors.js';
import { copyPeerFd } from '../../native/peer.js';
import type { ProcessParent } from '../../native/processParent.js';
import { closeFd, pidfdOpen, type ChildExit } from '../../native/syscalls.js';
import { encodeServer, FdKind, type ClientMessage } from './protocol.js';

type Reply = Extract<ClientMessage, { type: 'reply' | 'stdin' }>;

/** The call ended (its process went away) while the server was still asking it something. */
export class CallerGone extends BerthError {
  constructor() {
    super('the CLI call ended before the berth server was done with it');
  }
}

const SEALED_EXE = /^\/proc\/self\/fd\/(\d+)$/;

export class Caller {
  private nextRequest = 1;
  private readonly pending = new Map<number, { resolve(m: Reply): void; reject(e: Error): void }>();
  /** Our copies of the caller's fds → their numbers there. */
  private readonly copies = new Map<number, number>();
  private pidfd = -1;
  private signalHandler: ((signo: number) => void) | null = null;
  private readonly hungUp = new AbortController();
  /** Aborted when the caller's process has gone: what only it wanted (a watch) can stop. */
  readonly callerGone = this.hungUp.signal;

  constructor(
    private readonly sock: Socket,
    private readonly pid: number,
  ) {}

  private get gone(): boolean {
    return this.callerGone.aborted;
  }

  private send(frame: Buffer): void {
    if (!this.gone) this.sock.write(frame);
  }

  private ask(frame: (request: number) => Buffer): Promise<Reply> {
    if (this.gone) return Promise.reject(new CallerGone());
    const request = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.pending.set(request, { resolve, reject });
      this.send(frame(request));
    });
  }

  /** A message from the caller: a reply to one of our requests, or a signal it received. */
  receive(m: ClientMessage): void {
    if (m.type === 'signal') return this.signalHandler?.(m.signo);
    if (m.type === 'call') throw new BerthError('a second call on one connection');
    const waiting = this.pending.get(m.request);
    if (!waiting) throw new BerthError(`a reply to no request (${m.request})`);
    this.pending.delete(m.request);
    waiting.resolve(m);
  }

  /** The connection ended: nothing asked will be answered. */
  ended(): void {
    this.hungUp.abort();
    for (const { reject } of this.pending.values()) reject(new CallerGone());
    this.pending.clear();
    this.release();
  }

  write(fd: 1 | 2, text: string): void {
    this.send(encodeServer.write(fd, text));
  }

  async readStdin(): Promise<Buffer> {
    const m = await this.ask((r) => encodeServer.readStdin(r));
    return m.type === 'stdin' ? m.data : Buffer.alloc(0);
  }

  /** A copy of the caller's fd N, ours until the call ends. */
  fd(n: number): number {
    if (this.pidfd < 0) this.pidfd = pidfdOpen(this.pid);
    const fd = copyPeerFd(this.pidfd, n);
    this.copies.set(fd, n);
    return fd;
  }

  /** From now on the caller sends the signals it gets (SIGINT, SIGTERM, ...) to HANDLER. */
  forwardSignals(handler: (signo: number) => void): void {
    this.signalHandler = handler;
    this.send(encodeServer.forward());
  }

  /** Hand a pty master to the caller, which proxies its terminal to it; ours is closed once it has a copy. */
  async proxyTerminal(master: number): Promise<void> {
    try {
      const m = await this.ask((r) => encodeServer.terminal(r, master));
      if (m.type === 'reply' && m.result < 0) throw new SyscallError('pidfd_getfd', -m.result, 'the terminal');
    } finally {
      closeFd(master);
    }
  }

  /** The call is over: its exit status to the caller, and the connection closed. */
  exit(code: number): void {
    this.send(encodeServer.exit(code));
    this.sock.end();
    this.release();
  }

  private release(): void {
    for (const fd of this.copies.keys()) closeFd(fd);
    this.copies.clear();
    if (this.pidfd >= 0) closeFd(this.pidfd);
    this.pidfd = -1;
  }

  /** The caller's process as the parent of what the call spawns: it spawns and reaps on our behalf. */
  readonly parent: ProcessParent = {
    remote: true,
    gone: this.callerGone,
    spawn: async (path, argv, env, fds) => {
      const sealed = SEALED_EXE.exec(path);
      const m = await this.ask((request) =>
        encodeServer.spawn({
          request,
          exeFd: sealed ? Number(sealed[1]) : -1,
          path,
          argv,
          env,
          fds: fds.map((fd) => (fd === 'ignore' ? { kind: FdKind.NULL, fd: -1 } : this.copies.has(fd) ? { kind: FdKind.CLIENT, fd: this.copies.get(fd)! } : { kind: FdKind.SERVER, fd })),
        }),
      );
      const pid = (m as Extract<Reply, { type: 'reply' }>).result;
      if (pid < 0) throw new SyscallError('posix_spawn', -pid, path);
      return pid;
    },
    reap: async (pid): Promise<ChildExit> => {
      const m = (await this.ask((r) => encodeServer.wait(r, pid))) as Extract<Reply, { type: 'reply' }>;
      if (m.result < 0) throw new SyscallError('waitid', -m.result, String(pid));
      return { pid, exitCode: m.a >= 0 ? m.a : null, signal: m.a >= 0 ? null : m.b };
    },
  };
}
