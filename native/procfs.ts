// What /proc says about a process: enough to tell a live container process from a dead or reused pid.
import { existsSync, readFileSync } from 'node:fs';
import { isErrno } from './errors.js';

export interface ProcStat {
  /** One letter: R, S, D, Z (zombie), X (dead), T... */
  state: string;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  startTime: number;
}

/** /proc/PID/stat, or null when there is no such process. */
export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (e) {
    // Only "no such process" means gone: EACCES (a procfs with hidepid) is no news of its death.
    if (isErrno(e, 'ENOENT', 'ESRCH')) return null;
    throw e;
  }
  // comm may hold spaces and parentheses: fields restart after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTime: Number(fields[19]) };
}

/**
 * True while the process PID started at START_TIME still runs. A zombie counts as dead: on these
 * machines PID 1 is slow to reap orphans, and a zombie runs nothing.
 */
export function isAlive(pid: number, startTime: number): boolean {
  const st = procStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

/** Facts about the running kernel that cannot change until it reboots: read once per process. */
const bootFacts: { lastCap?: number; lsm?: { apparmor: boolean; selinux: boolean }; initialUserns?: boolean } = {};

/**
 * Whether berth runs in the host's own user namespace (uid_map the identity of every id). A berth
 * started inside another — rootless podman runs its runtime so — is root there and nowhere else.
 */
export function inInitialUserNamespace(): boolean {
  return (bootFacts.initialUserns ??= readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295');
}

/** A berth without the host's privileges: a user's, or root of a user namespace other than the host's. */
export function rootless(): boolean {
  return (process.geteuid?.() ?? 0) !== 0 || !inInitialUserNamespace();
}

/** The highest capability number the running kernel knows. */
export function lastCapability(): number {
  return (bootFacts.lastCap ??= Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')));
}

/** PID as the innermost pid namespace it is in sees it (NSpid's last entry), or null. */
export function innermostPid(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'));
    return line ? Number(line.trim().split(/\s+/).at(-1)) : null;
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ESRCH')) return null;
    throw e;
  }
}

/** The LSMs the host has enabled (chosen at boot). */
export function lsmHost(): { apparmor: boolean; selinux: boolean } {
  return { ...(bootFacts.lsm ??= readLsmHost()) };
}

function readLsmHost(): { apparmor: boolean; selinux: boolean } {
  let apparmor = false;
  try {
    apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    // not built in
  }
  return { apparmor, selinux: existsSync('/sys/fs/selinux/enforce') };
}
