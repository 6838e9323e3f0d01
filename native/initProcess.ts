// The parent side of berth-init: spawn it, hand it the plan, answer its SYNC requests, and learn the
// container process's pid — or which step failed and why.
import { existsSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Socket, type ConnectOpts, type SocketConstructorOpts } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BerthError, errnoName, errnoText } from './errors.js';
import { nextMessage, sendFdOrEnd } from './console.js';
import { encodePlan, Msg, SyncTag, type Plan, type PlanStep, type SyncTagValue } from './plan.js';
import { signalAll } from './signalling.js';
import type { ProcessParent } from './processParent.js';
import { sealedExecutable, spawnWithSocket } from './spawn.js';
import { closeFd } from './syscalls.js';

/** Where the build put berth-init: next to the bundled CLI, or under build/native when run from build/. */
export function initBinary(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'berth-init'), join(here, '..', 'native', 'berth-init'), join(here, 'native', 'berth-init')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new BerthError(`berth-init is not built (looked in ${candidates.join(', ')}): run the README's set-up`);
  return found;
}

/** A plan step failed inside the container's process. */
export class InitStepError extends BerthError {
  constructor(
    readonly step: PlanStep,
    readonly errno: number,
  ) {
    super(InitStepError.describe(step, errno));
    this.name = 'InitStepError';
  }

  private static describe(step: PlanStep, errno: number): string {
    // Clients such as podman look for these words to report "command not found" (exit 127).
    if (step.op === 'LOOKUP' && errno === 2) return `exec: "${step.args[0]}": executable file not found in $PATH`;
    if (step.op === 'LOOKUP' && errno === 13) return `exec: "${step.args[0]}": permission denied`;
    return `${step.what}: ${errnoName(errno)} (${errnoText(errno)})`;
  }
}

export interface InitOptions {
  plan: Plan;
  /** Whose children berth-init and the process it makes become. */
  parent: ProcessParent;
  /** fds for the container's 0, 1, 2 and preserved fds (3...), or 'ignore'. */
  stdio: (number | 'ignore')[];
  /**
   * The answer to each SYNC step the plan has, by tag; the stage-1 pid is the process to act on.
   * A failing answer fails the run; a SYNC with no answer here fails it too (nothing is skipped).
   */
  syncs?: SyncAnswers;
  /** The container process exists (called before READY, so a failure can still clean it up). */
  onPid(pid: number): void;
  /** A socket the process's terminal master is sent over (a TERMINAL step uses it). */
  consoleFd?: number;
  /** After READY the process execs at once (exec, not create): resolve when it did, not before. */
  untilExec?: boolean;
  /**
   * What must be done before berth-init runs its plan (the cgroup it joins first): begun once the
   * spawn is asked for, so it is done while berth-init starts.
   */
  planAfter?: () => Promise<void>;
}

/**
 * An answer acts on the stage-1 process; one that hands berth-init fds (IDMAPPED_MOUNTS) sends them
 * with SEND_FD; SECCOMP_LISTENER's is called with the listener berth-init handed over (RECEIVED,
 * closed after the answer).
 */
export type SyncAnswers = Partial<Record<SyncTagValue, (stage1Pid: number, sendFd: (fd: number) => void, received?: number) => void | Promise<void>>>;

const MSG_SIZE = 16;
// The ack of a message berth-init waits on: go on, or give up (EPERM).
const ACK = { GO_ON: Buffer.alloc(4), GIVE_UP: Buffer.from([1, 0, 0, 0]) };

const endedEarly = () => new BerthError('berth-init ended before the container was ready');

/** The tests' fault point in berth-init: BERTH_INIT_DIE_AT=N makes it die (exit 137) right before step N. */
const initDieAt = process.env.BERTH_INIT_DIE_AT;

function answerOf(syncs: SyncAnswers | undefined, tag: number) {
  const answer = syncs?.[tag as SyncTagValue];
  if (answer) return answer;
  const name = Object.entries(SyncTag).find(([, v]) => v === tag)?.[0] ?? 'an unknown step';
  throw new BerthError(`berth-init waits for ${name} (sync tag ${tag}), which this operation does not do`);
}

/** Spawn berth-init and run the plan up to READY. Resolves with the container process's host pid. */
export async function runInit(opts: InitOptions): Promise<number> {
  const syncFd = opts.stdio.length;
  const args = [String(syncFd), ...(initDieAt === undefined ? [] : [initDieAt])];
  const spawning = spawnWithSocket(opts.parent, sealedExecutable(initBinary()), args, opts.stdio, syncFd, opts.consoleFd === undefined ? [] : [opts.consoleFd]);
  const before = opts.planAfter?.();
  const stage1 = await spawning;
  let buffered = Buffer.alloc(0);
  let drain = () => {};
  // Read into a buffer of its own (onread): pause() then stops the reads at once, so the message
  // after a SECCOMP_LISTENER sync is left to takeListener — a plain read would drop its fd.
  const reading: SocketConstructorOpts & ConnectOpts = {
    fd: stage1.socket,
    readable: true,
    writable: true,
    onread: {
      buffer: Buffer.alloc(4096),
      callback: (n, chunk) => {
        buffered = Buffer.concat([buffered, chunk.subarray(0, n)]);
        drain();
        return true;
      },
    },
  };
  const sock = new Socket(reading);
  return new Promise<number>((resolve, reject) => {
    let pid = 0;
    let ready = false;
    let settled = false;
    // Stage 1 exits right after it reports the pid (or fails): reaped then, so no zombie of it
    // lingers while the container gets ready. Nobody needs its status.
    const reapStage1 = () => void opts.parent.reap(stage1.pid).catch(() => {});
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      // On our own failure before the pid came, stage 1 is ended first.
      if (err && !pid) signalAll([stage1.pid], 9);
      if (!pid) reapStage1();
      if (err) reject(err);
      else resolve(pid);
    };
    sock.on('error', () => {}); // an early exit of the init is reported by 'close'
    // The socket is close-on-exec: after READY, its end is the exec having happened.
    sock.on('close', () => finish(ready ? null : endedEarly()));
    drain = () => {
      while (buffered.length >= MSG_SIZE && !settled) {
        const kind = buffered.readInt32LE(0);
        const index = buffered.readInt32LE(4);
        const errno = buffered.readInt32LE(8);
        const value = buffered.readInt32LE(12);
        buffered = buffered.subarray(MSG_SIZE);
        if (kind === Msg.SYNC) {
          // The init waits for the ack; messages behind this one wait with it.
          sock.pause();
          void (async () => {
            let failure: Error | null = null;
            try {
              const answer = answerOf(opts.syncs, value);
              if (value === SyncTag.SECCOMP_LISTENER) return await takeListener(answer);
              await answer(stage1.pid, (fd) => sendFdOrEnd(stage1.socket, fd));
            } catch (e) {
              failure = e as Error;
              // berth-init reads the fds it was promised before the ack: a message without one ends them.
              if (value === SyncTag.IDMAPPED_MOUNTS && !settled) sendFdOrEnd(stage1.socket, null);
            }
            answered(failure);
          })();
          return;
        } else if (kind === Msg.PID) {
          pid = value;
          reapStage1();
          opts.onPid(pid);
        } else if (kind === Msg.READY) {
          ready = true;
          if (!opts.untilExec) finish(null);
        }
        else if (kind === Msg.ERROR) {
          const failed = opts.plan[index];
          finish(failed ? new InitStepError(failed, errno) : new BerthError(`berth-init failed before its plan began: ${errnoName(errno)}`));
        }
      }
    };
    // Written at once, not queued on the socket: a queued write that failed would close the fd
    // under takeListener's wait. Nothing of the socket's is queued by then (berth-init reads the
    // whole plan before its first step), and it fails only when berth-init is gone (EPIPE).
    const writeAck = (failure: Error | null) => {
      try {
        writeSync(stage1.socket, failure ? ACK.GIVE_UP : ACK.GO_ON);
        return true;
      } catch {
        finish(failure ?? endedEarly());
        return false;
      }
    };
    const readOn = () => {
      sock.resume();
      drain();
    };
    /** An answer is done: ack it and read on, or finish with its FAILURE. */
    const answered = (failure: Error | null) => {
      if (settled || !writeAck(failure)) return;
      if (failure) return finish(failure);
      readOn();
    };
    /**
     * SECCOMP_LISTENER: ack with the reads still stopped; the next message is the SECCOMP step's
     * LISTENER, received here with its fd, which ANSWER hands on before that step's ack. Another
     * message (the step failed) is read as any other.
     */
    const takeListener = async (answer: NonNullable<SyncAnswers[SyncTagValue]>) => {
      if (settled || !writeAck(null)) return;
      const { data, fd } = await nextMessage(stage1.socket, MSG_SIZE, 'berth-init');
      const listener = data.length === MSG_SIZE && data.readInt32LE(0) === Msg.LISTENER ? fd : undefined;
      if (listener === undefined) {
        if (fd !== undefined) closeFd(fd);
        if (data.length === 0) return finish(endedEarly());
        buffered = Buffer.concat([buffered, data]);
        return readOn();
      }
      let failure: Error | null = null;
      try {
        await answer(stage1.pid, (f) => sendFdOrEnd(stage1.socket, f), listener);
      } catch (e) {
        failure = e as Error;
      } finally {
        closeFd(listener);
      }
      answered(failure);
    };
    const plan = encodePlan(opts.plan);
    if (!before) sock.write(plan);
    else before.then(() => void (settled || sock.write(plan)), (e: Error) => finish(e));
  });
}
