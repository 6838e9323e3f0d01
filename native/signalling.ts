// Signalling and awaiting a container's processes without being fooled by pid reuse.
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';
import { SyscallError } from './errors.js';
import { isAlive, procStat } from './procfs.js';
import { signalName } from './signals.js';
import { closeFd, isReadable, pidfdOpenIfAlive, pidfdSendSignal, reapChild } from './syscalls.js';

/**
 * Signal the process PID that started at START_TIME. The pidfd pins the process, so once the start
 * time is checked through it, the signal cannot reach a newcomer that reused the pid.
 * Returns false when that process is gone.
 */
export function signalProcess(pid: number, startTime: number, signal: number): boolean {
  const pidfd = pidfdOpenIfAlive(pid);
  if (pidfd === null) return false;
  try {
    if (!isAlive(pid, startTime)) return false;
    pidfdSendSignal(pidfd, signal, `pid ${pid}`);
    return true;
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'ESRCH') return false;
    throw e;
  } finally {
    closeFd(pidfd);
  }
}

/** Signal every pid in PIDS that still exists; gone ones are skipped. */
export function signalAll(pids: number[], signal: number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

/**
 * What to call on the next SIGCHLD: a child of this process ended. The container's process, an
 * exec'd one and a hook are children of the berth process that started them (CLONE_PARENT), so
 * their exit is an event here. Node delivers signals to the main thread only; in a worker thread,
 * and for a process another berth process started, the pauses of waitUntil alone see the end.
 */
const childWakers = new Set<() => void>();
const onChild = () => {
  for (const wake of childWakers) wake();
};

/** Call WAKE on the next SIGCHLD (main thread only); returns the function that stops it. */
function onChildExit(wake: () => void): () => void {
  if (!isMainThread) return () => {};
  if (childWakers.size === 0) process.on('SIGCHLD', onChild);
  childWakers.add(wake);
  return () => {
    childWakers.delete(wake);
    if (childWakers.size === 0) process.off('SIGCHLD', onChild);
  };
}

/** MS, or less when WAKE_ON_CHILD_EXIT and a child of this process ends meanwhile. */
function pause(ms: number, wakeOnChildExit: boolean): Promise<void> {
  if (!wakeOnChildExit) return sleep(ms);
  return new Promise((resolve) => {
    const timer = setTimeout(() => wake(), ms);
    const stop = onChildExit(() => wake());
    const wake = () => {
      clearTimeout(timer);
      stop();
      resolve();
    };
  });
}

/**
 * Wait until DONE() holds, up to TIMEOUT_MS, checking after a pause of a tenth of the time waited so
 * far (1 ms to 50 ms): noticed at most 10% late. With WAKE_ON_CHILD_EXIT, a child's exit (SIGCHLD)
 * ends a pause at once, so an exit of one of ours is seen when it happens. No thread waits: many
 * operations share a worker thread, and libuv's pool has four threads for the whole process. True
 * when it held in time.
 */
export async function waitUntil(done: () => boolean, timeoutMs: number, wakeOnChildExit = false): Promise<boolean> {
  const start = Date.now();
  for (;;) {
    if (done()) return true;
    const waited = Date.now() - start;
    if (waited > timeoutMs) return false;
    await pause(Math.min(Math.max(1, waited / 10), 50, timeoutMs - waited), wakeOnChildExit);
  }
}

/**
 * Wait until the process PID that started at START_TIME has exited (a zombie counts), up to
 * TIMEOUT_MS. The pidfd pins it, so a newcomer that reuses the pid is not waited for. True when it is gone.
 */
export async function waitForExit(pid: number, startTime: number, timeoutMs: number): Promise<boolean> {
  const pidfd = pidfdOpenIfAlive(pid);
  if (pidfd === null) return true;
  try {
    return !isAlive(pid, startTime) || (await waitUntil(() => isReadable(pidfd, `pidfd of pid ${pid}`), timeoutMs, true));
  } finally {
    closeFd(pidfd);
  }
}

/** Wait until none of PIDS_OF() remain, up to TIMEOUT_MS. True when all are gone. */
export function waitUntilEmpty(pidsOf: () => number[], timeoutMs: number): Promise<boolean> {
  return waitUntil(() => pidsOf().length === 0, timeoutMs, true);
}

/**
 * Why the process PID that started at START_TIME is not alive, in words for an error; null while it
 * is. A child of ours that exited is described by its exit, and left for its reaper.
 */
export function whyDead(pid: number, startTime: number): string | null {
  const st = procStat(pid);
  if (st !== null && st.startTime !== startTime) return `pid ${pid} now names another process (started at tick ${st.startTime}, not ${startTime})`;
  if (st !== null && st.state !== 'Z' && st.state !== 'X') return null;
  const exit = reapChild(pid, true);
  if (exit?.signal != null) return `pid ${pid} was killed by ${signalName(exit.signal)}`;
  if (exit?.exitCode != null) return `pid ${pid} exited with status ${exit.exitCode}`;
  return st === null ? `pid ${pid} is gone` : `pid ${pid} has exited`;
}
