// The berth server: the coordinator kept warm between CLI calls (modules loaded, code compiled, the
// machine made), serving one state root over <root>/@server/sock. It holds no truth of its own —
// state is on disk, written by each operation as the in-process CLI writes it, and containers are
// the callers' children — so killing it at any point loses nothing: the next call starts another.
//
// <root>/@server/ (0700, the server's uid only) holds `sock`, `pid`, `log` (its stderr when the
// client starts it), `server.lock` (held for the server's life: one server per root) and
// `start.lock` (held by a client while it starts one: two racing first calls start one server).
import { closeSync, chmodSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BerthError, isErrno } from '../../native/errors.js';
import { peerCredentials } from '../../native/peer.js';
import { inInitialUserNamespace } from '../../native/procfs.js';
import { flock, LOCK_EX, LOCK_NB, trimMalloc } from '../../native/syscalls.js';
import type { Logger } from '../log.js';
import { Caller } from './caller.js';
import { decodeClient, encodeServer, FrameReader, SERVER_DIR, type Call } from './protocol.js';
import { rootMode } from '../stateStore.js';

export interface ServerOptions {
  root: string;
  /** Exit after this long without a call; 0: never. */
  idleMs: number;
  log: Logger;
  /** Handle one call; resolves with its exit status. */
  handle(call: Call, caller: Caller): Promise<number>;
  /** True once this server's code was rebuilt under it: it then makes way for a new server. */
  stale(): boolean;
}

/**
 * The server's folder: one per state root and user namespace. A berth inside another user
 * namespace (rootless podman runs its runtime so) gets a server of its own there: one outside would
 * make the containers in the wrong namespace. Its client names the same folder (berth.c).
 */
const serverDir = (root: string) => join(root, inInitialUserNamespace() ? SERVER_DIR : `${SERVER_DIR}-userns-${statSync('/proc/self/ns/user').ino}`);

const LOCK_WAIT_MS = 5000;
/** Quiet this long, the server gives back the memory a burst of calls left it (releaseMemory). */
const TRIM_AFTER_MS = 20_000;

// V8's own memory reducer returns heap pages only when its heuristics find the heap idle: after a
// benchmark's burst it had not in 25 s (67.9 MB RSS) where after another it had (57.2). So the
// server asks for full collections itself, once a quiet period (jest's leak detector gets its
// collector the same way). One compacts only the most fragmented pages (old space 13.0 MB with 5.7
// live stayed 13.0), so they are repeated while the heap shrinks, as the memory reducer does.
const MAX_COLLECTIONS = 4;
/** Taken at the first quiet period, not at start: the flag and a new context cost a server start 3.7 ms. */
let collectGarbage: (() => void) | undefined;

/** Full collections while the heap shrinks, then malloc's free memory back to the kernel (glibc keeps 5–6 MB of it). */
function releaseMemory(): void {
  if (!collectGarbage) {
    setFlagsFromString('--expose-gc');
    collectGarbage = runInNewContext('gc') as () => void;
  }
  for (let i = 0, before = Infinity; i < MAX_COLLECTIONS; i++) {
    const size = getHeapStatistics().total_heap_size;
    if (size >= before) break;
    before = size;
    collectGarbage();
  }
  trimMalloc();
}

/** The server's folder, made if missing; refused unless only this uid can enter it. */
function ownFolder(root: string): string {
  mkdirSync(root, { recursive: true, mode: rootMode() });
  const dir = serverDir(root);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e;
  }
  const st = statSync(dir);
  if (!st.isDirectory() || st.uid !== process.geteuid!() || st.mode & 0o077) throw new BerthError(`${dir} must be a folder of uid ${process.geteuid!()} that no one else can enter`);
  return dir;
}

/** Serve ROOT until idle (or SIGTERM/SIGINT); resolves with the exit status. */
export async function serve(opts: ServerOptions): Promise<number> {
  const dir = ownFolder(opts.root);
  const lock = openSync(join(dir, 'server.lock'), 'w', 0o600);
  // Held while this server listens: one listening server per root. One making way lets go of it
  // when it stops listening, and finishes its calls beside the next (they share only the state on
  // disk, locked per container, as any two berth processes do); so the wait is short.
  for (let waited = 0; !flock(lock, LOCK_EX | LOCK_NB); waited += 10) {
    if (waited >= LOCK_WAIT_MS) {
      closeSync(lock);
      throw new BerthError(`a berth server already serves ${opts.root}`, 'exists');
    }
    await sleep(10);
  }
  const sockPath = join(dir, 'sock');
  rmSync(sockPath, { force: true }); // a killed server's: the lock says none listens
  let active = 0;
  let idle: NodeJS.Timeout | null = null;
  let trim: NodeJS.Timeout | null = null;
  /** Set once the server stops listening: its exit status, given when the last call has finished. */
  let stopCode: number | null = null;
  let stopped: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (stopped = resolve));

  const server = createServer((sock) => {
    if (opts.stale()) {
      // Not accepted: the client starts the new server and calls again.
      opts.log.debug(`berth server ${process.pid}: rebuilt under it, making way`);
      sock.destroy();
      return stop(0);
    }
    active++;
    if (idle) clearTimeout(idle);
    if (trim) clearTimeout(trim);
    void serveConnection(sock, opts).finally(() => {
      if (--active > 0) return;
      if (stopCode === null) armIdle();
      else stopped(stopCode);
    });
  });
  const armIdle = () => {
    if (opts.idleMs > 0) idle = setTimeout(() => stop(0), opts.idleMs);
    if (trim) clearTimeout(trim);
    trim = setTimeout(releaseMemory, TRIM_AFTER_MS);
  };
  const stop = (code: number) => {
    if (stopCode !== null) return;
    stopCode = code;
    if (idle) clearTimeout(idle);
    if (trim) clearTimeout(trim);
    // Unlinked first: a call from now on starts a new server rather than reach this one.
    rmSync(sockPath, { force: true });
    rmSync(join(dir, 'pid'), { force: true });
    server.close();
    closeSync(lock); // a new server may start now: a long call here (a foreground run, an exec session) must not keep it out
    // Calls under way finish (the last one's end gives the status): what they were asked is done,
    // and the state they write stays whole.
    if (active === 0) stopped(code);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, () => resolve());
  });
  chmodSync(sockPath, 0o600);
  writeFileSync(join(dir, 'pid'), `${process.pid}\n`);
  const onSignal = () => stop(0);
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  // The client that started this server waits on this fd for one byte: listening now.
  const ready = Number(process.env.BERTH_READY_FD);
  if (ready > 2) {
    writeSync(ready, '1');
    closeSync(ready);
  }
  opts.log.debug(`berth server ${process.pid} serves ${opts.root}`);
  armIdle();
  const code = await done;
  process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
  return code;
}

/** One connection, one call. Nothing a client sends can end more than its own call. */
async function serveConnection(sock: Socket, opts: ServerOptions): Promise<void> {
  sock.on('error', () => {}); // a vanished client is an ended call ('close')
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  // Accepted: from here on the client never retries this call elsewhere.
  sock.write(encodeServer.accepted());
  let peer;
  try {
    peer = peerCredentials((sock as unknown as { _handle: { fd: number } })._handle.fd);
  } catch (e) {
    refuse(sock, `berth: refused: ${(e as Error).message}`);
    return closed;
  }
  if (peer.uid !== process.geteuid!()) {
    refuse(sock, `berth: refused: the berth server of this root serves uid ${process.geteuid!()}, not ${peer.uid}`);
    return closed;
  }
  const caller = new Caller(sock, peer.pid);
  const frames = new FrameReader();
  let call: Promise<void> | null = null;
  sock.on('data', (chunk: Buffer) => {
    try {
      for (const { type, body } of frames.push(chunk)) {
        const m = decodeClient(type, body);
        if (m.type === 'call' && !call)
          call = opts
            .handle(m, caller)
            .catch((e) => (caller.write(2, `${(e as Error).message}\n`), 1))
            .then((code) => {
              caller.exit(code);
              hangUp(sock);
            });
        else if (!call) throw new BerthError('the first message must be a call');
        else caller.receive(m);
      }
    } catch (e) {
      opts.log.warn(`a malformed message from pid ${peer.pid}: ${(e as Error).message}`);
      refuse(sock, `berth: malformed message: ${(e as Error).message}`);
      caller.ended();
    }
  });
  sock.once('close', () => caller.ended());
  sock.once('end', () => {
    // A client that stops writing before its call came sent a truncated one.
    if (!call) refuse(sock, `berth: malformed message: ${frames.partial ? 'truncated' : 'no'} call`);
  });
  await closed;
  await call; // a call goes on when its client goes: it was asked for, and state must be left whole
}

function refuse(sock: Socket, line: string): void {
  if (sock.destroyed) return;
  sock.write(encodeServer.write(2, line + '\n'));
  sock.end(encodeServer.exit(1));
  hangUp(sock);
}

/** Whatever the client still sends is read and dropped (so its close is seen), and after a while it is cut off. */
function hangUp(sock: Socket): void {
  sock.removeAllListeners('data');
  sock.resume();
  setTimeout(() => sock.destroy(), 5000).unref();
}
