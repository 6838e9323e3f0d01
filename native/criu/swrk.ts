// One request to CRIU over its RPC: `criu swrk 3` is spawned with one end of a SOCK_SEQPACKET
// pair at fd 3; berth sends the request, answers each notification CRIU sends on the way (and
// takes the fd some of them carry), and gets the final response. The images and work folders are
// passed as fds of this process: CRIU opens them through /proc/<peer>/fd.
import { closeSync, openSync, readFileSync, readSync, rmdirSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { mountsBelow } from '../mountTable.js';
import { BerthError } from '../errors.js';
import { nextMessage } from '../console.js';
import { signalAll } from '../signalling.js';
import type { ProcessParent } from '../processParent.js';
import { spawnWithSocket } from '../spawn.js';
import { closeFd, detachMount, SOCK_SEQPACKET } from '../syscalls.js';
import { CRIU_PATH_ENV } from './check.js';
import { firstError } from './log.js';
import { decodeResponse, encodeNotifyAck, encodeRequest, RequestType, type CriuOpts, type CriuResponse, type RequestTypeName } from './rpc.js';

/** Where CRIU's RPC socket is in its process; fds handed to it follow. */
const SWRK_FD = 3;
/** CRIU's responses are small; runc reads them into 40 KiB too. */
const MESSAGE_SIZE = 40 * 1024;

export interface SwrkRequest {
  /** The CRIU binary, an absolute path. */
  criu: string;
  /** Whose child CRIU is: a restored process is CRIU's sibling, so its parent is the container's. */
  parent: ProcessParent;
  type: RequestTypeName;
  opts: CriuOpts;
  /** CRIU's stdin, stdout, stderr: on restore, what `fd[0..2]` inherit keys name. */
  stdio: (number | 'ignore')[];
  /** fds of this process that become CRIU's fds 4, 5, ... (inherit keys name them by those numbers). */
  passFds?: number[];
  /** The log CRIU writes, named in errors. */
  logPath: string;
  /** CRIU runs and has not been asked anything yet (restore: the moment to put it in the cgroup). */
  onSpawned?(pid: number): void;
  /** A notification: its script name, the pid it is about, and an fd if one came (the receiver owns it). */
  onNotify?(script: string, pid: number, fd: number | undefined): void;
  /** Aborted when nobody waits for the answer any more (the CLI call ended): CRIU is stopped. */
  signal?: AbortSignal;
}

/** A failed request, with CRIU's first real error (from its log, else its answer) and where its log is. */
class CriuError extends BerthError {
  constructor(verb: string, answer: string, logPath: string) {
    super(`criu ${verb} failed: ${CriuError.reason(answer, logPath)} (log: ${logPath})`, 'failed');
    this.name = 'CriuError';
  }

  private static reason(answer: string, logPath: string): string {
    let log = '';
    try {
      log = readFileSync(logPath, 'utf8');
    } catch {
      // no log: CRIU's answer is all there is
    }
    return firstError(log) ?? firstError(answer) ?? answer.trim();
  }
}

/** Where a restore's CRIU made its mount namespaces' yard (a mkdtemp in /tmp), as its log names it early on. */
const MNTNS_YARD = /\/tmp\/\.criu\.mntns\.[A-Za-z0-9]{6}(?=\/|\s|$)/;

/** Remove the yard folder a killed CRIU left, once empty (only then: rmdir). */
function removeMntnsYard(logPath: string): void {
  let head = '';
  try {
    const fd = openSync(logPath, 'r');
    try {
      const buf = Buffer.alloc(1 << 20); // the yard is named in the first lines; a spinning CRIU's log can be huge
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('latin1');
    } finally {
      closeSync(fd);
    }
  } catch {
    return; // no log: nothing named
  }
  const yard = MNTNS_YARD.exec(head)?.[0];
  try {
    if (yard) rmdirSync(yard);
  } catch {
    // gone already, or not empty (a mount left in it): not removed through
  }
}

const verbs: Record<RequestTypeName, string> = { DUMP: 'dump', PRE_DUMP: 'pre-dump', RESTORE: 'restore', NOTIFY: 'notify' };

/** Send the request and follow the conversation to CRIU's final response. */
export async function runCriu(req: SwrkRequest): Promise<CriuResponse> {
  const verb = verbs[req.type];
  const criu = await spawnWithSocket(req.parent, req.criu, ['swrk', String(SWRK_FD)], req.stdio, SWRK_FD, req.passFds ?? [], { socketType: SOCK_SEQPACKET, env: [`PATH=${CRIU_PATH_ENV}`] });
  let exited = false;
  // After a failure CRIU answers, it undoes what it did (its cgroup yard's mounts) and exits: let it.
  let answered = false;
  // Its process group (CRIU runs in a session of its own): the helpers CRIU forks hold the RPC socket too.
  const stop = () => signalAll([-criu.pid], 9);
  // A hostile image can keep CRIU restoring for ever (seen: its restorer spinning): a caller that
  // gave up (a timeout, ^C) ends it, and what it made is undone like any failed restore.
  req.signal?.addEventListener('abort', stop, { once: true });
  try {
    if (req.signal?.aborted) stop();
    req.onSpawned?.(criu.pid);
    writeSync(criu.socket, encodeRequest(req.type, req.opts));
    for (;;) {
      const { data, fd } = await nextMessage(criu.socket, MESSAGE_SIZE, 'criu swrk socket');
      if (data.length === 0) {
        exited = true;
        // (A gone caller reaps nothing: its children went to its subreaper.)
        const status = await req.parent.reap(criu.pid).catch((e: Error) => (req.signal?.aborted ? null : Promise.reject(e)));
        if (req.signal?.aborted || !status) throw new BerthError(`criu ${verb} stopped: the call that asked for it ended (log: ${req.logPath})`, 'failed');
        throw new CriuError(verb, `CRIU ended without an answer (${status.signal ? `signal ${status.signal}` : `exit status ${status.exitCode}`})`, req.logPath);
      }
      const resp = decodeResponse(data);
      answered = !resp.success;
      if (!resp.success) throw new CriuError(verb, resp.crErrmsg ?? `errno ${resp.crErrno ?? 'unknown'}`, req.logPath);
      if (resp.type !== RequestType.NOTIFY) return resp;
      req.onNotify?.(resp.notify?.script ?? '', resp.notify?.pid ?? 0, fd);
      writeSync(criu.socket, encodeNotifyAck());
    }
  } catch (e) {
    if (!exited && !answered) stop();
    // Killed, CRIU leaves its cgroup yard mounted in the work folder (it unmounts it when it answers),
    // and the folder of its mount namespaces' yard in /tmp.
    if (!answered) {
      for (const m of mountsBelow(dirname(req.logPath)).filter((p) => p.includes('/.criu.cgyard.'))) detachMount(m);
      removeMntnsYard(req.logPath);
    }
    throw e;
  } finally {
    req.signal?.removeEventListener('abort', stop);
    closeFd(criu.socket);
    // After its response CRIU exits (a restored process is a sibling, not its child).
    if (!exited) await req.parent.reap(criu.pid);
  }
}
