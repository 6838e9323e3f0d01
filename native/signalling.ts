// Signalling and awaiting a container's processes without being fooled by pid reuse.
import { setTimeout as sleep } from 'node:timers/promises';
import { SyscallError } from './errors.js';
import { isAlive } from './procfs.js';
import { closeFd, pidfdOpen, pidfdSendSignal, pollPidfd } from './syscalls.js';

/**
 * Signal the process PID that started at START_TIME. The pidfd pins the process, so once the start
 * time is checked through it, the signal cannot reach a newcomer that reused the pid.
 * Returns false when that process is gone.
 */
export function signalProcess(pid: number, startTime: number, signal: number): boolean {
  let pidfd: number;
  try {
    pidfd = pidfdOpen(pid);
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'ESRCH') return false;
    throw e;
  }
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
 * Wait until the process has exited (a zombie counts), up to TIMEOUT_MS. If it is this process's
 * child it is reaped too, so berth leaves no zombies of its own behind. True when it is gone.
 */
export async function waitForExit(pid: number, startTime: number, timeoutMs: number): Promise<boolean> {
  let pidfd: number;
  try {
    pidfd = pidfdOpen(pid);
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'ESRCH') return true;
    throw e;
  }
  try {
    if (isAlive(pid, startTime) && !(await pollPidfd(pidfd, timeoutMs))) return false;
    return true;
  } finally {
    closeFd(pidfd);
  }
}

/** Wait until none of PIDS_OF() remain, polling, up to TIMEOUT_MS. True when all are gone. */
export async function waitUntilEmpty(pidsOf: () => number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (pidsOf().length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(delay);
  }
}
