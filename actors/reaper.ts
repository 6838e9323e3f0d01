// Container processes are children of the berth process that created them (berth-init forks them
// with CLONE_PARENT). libuv only reaps the children it spawned, so berth reaps these itself: on
// SIGCHLD, in the main thread, for every container the coordinator created. (The process of a
// create that failed is reaped by the create itself: nobody else knows its pid.)
import { exitedChild, reapChild } from '../native/syscalls.js';
import type { ProcessExit } from './messages.js';

export class Reaper {
  private readonly children = new Map<number, { id: string; exec: boolean }>();
  private readonly waiters = new Map<number, ((exit: ProcessExit) => void)[]>();
  private readonly exits = new Map<number, ProcessExit>();
  private keepAlive: NodeJS.Timeout | null = null;
  private readonly onSignal = () => this.reap();

  constructor(private readonly onExit: (exit: ProcessExit) => void) {
    process.on('SIGCHLD', this.onSignal);
  }

  /** Start watching PID, the container's process or an EXEC'd one; an exit that already happened is caught at once. */
  watch(id: string, pid: number, exec = false): void {
    if (this.children.has(pid) || this.exits.has(pid)) return;
    this.children.set(pid, { id, exec });
    this.reap();
  }

  /** True when PID is a child this reaper watches (or has reaped). */
  owns(pid: number): boolean {
    return this.children.has(pid) || this.exits.has(pid);
  }

  /** The exit of a watched child; keeps the process alive until it comes. */
  wait(pid: number): Promise<ProcessExit> {
    const done = this.exits.get(pid);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => {
      this.waiters.set(pid, [...(this.waiters.get(pid) ?? []), resolve]);
      this.keepAlive ??= setInterval(() => {}, 1 << 30);
    });
  }

  /**
   * Reap the watched children that have exited. The kernel names the oldest exited child (without
   * reaping it): while that is one of ours it is reaped, one by one, and when there is none nothing
   * else is asked — a SIGCHLD costs no more with 1000 live containers than with one. When the
   * oldest is someone else's (berth-init's first stage, a hook: their starters reap them within a
   * millisecond or two) ours may be behind it: look again shortly, after its starter has reaped it.
   * Only a foreign zombie nobody reaps (for STUCK_MS) makes each of ours be asked, on every SIGCHLD.
   */
  private reap(): void {
    let head = exitedChild();
    for (; head !== 0 && this.children.has(head); head = exitedChild()) {
      this.collect(head);
      if (this.children.has(head)) break; // not reaped after all: ask each below
    }
    if (head === 0) this.blocker = null;
    else if (this.children.has(head) || this.blockedFor(head) >= Reaper.STUCK_MS) for (const pid of this.children.keys()) this.collect(pid);
    else this.lookAgain();
    if (this.waiters.size === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }

  private static readonly STUCK_MS = 200;
  private blocker: { pid: number; since: number; delay: number } | null = null;
  private retry: NodeJS.Timeout | null = null;

  /** How long the foreign zombie PID has been the oldest exited child. */
  private blockedFor(pid: number): number {
    if (this.blocker?.pid !== pid) this.blocker = { pid, since: performance.now(), delay: 1 };
    return performance.now() - this.blocker.since;
  }

  /** reap() again after 1, 2, 4 … ms while a foreign zombie is in front. */
  private lookAgain(): void {
    if (this.retry || !this.blocker) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.reap();
    }, this.blocker.delay);
    this.blocker.delay = Math.min(this.blocker.delay * 2, 64);
  }

  /** Reap the watched child PID if it has exited, and announce its exit. */
  private collect(pid: number): void {
    const child = this.children.get(pid);
    const exit = child && reapChild(pid);
    if (!child || !exit) return;
    this.children.delete(pid);
    const record = { id: child.id, exec: child.exec, ...exit };
    // The container's exit is kept for a later wait() until delete forgets it; an exec'd one is not.
    if (!child.exec) this.exits.set(pid, record);
    this.onExit(record);
    for (const resolve of this.waiters.get(pid) ?? []) resolve(record);
    this.waiters.delete(pid);
  }

  /**
   * Drop what is remembered of PID (its container is gone). A process delete killed may have
   * exited before its SIGCHLD was handled: it is reaped here, or it would stay a zombie.
   */
  forget(pid: number): void {
    if (this.children.has(pid)) reapChild(pid);
    this.children.delete(pid);
    this.exits.delete(pid);
  }

  close(): void {
    process.off('SIGCHLD', this.onSignal);
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (this.retry) clearTimeout(this.retry);
  }
}
