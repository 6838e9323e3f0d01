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
   * else is asked — a SIGCHLD costs no more with 200 live containers than with one. Only when the
   * oldest is someone else's (berth-init's first stage, a hook: their starters reap them) could
   * ours be behind it, and each of ours is asked.
   */
  private reap(): void {
    for (let pid = exitedChild(); pid !== 0 && this.children.has(pid); pid = exitedChild()) {
      this.collect(pid);
      if (this.children.has(pid)) break; // not reaped after all: every one is asked below
    }
    if (exitedChild() !== 0) for (const pid of this.children.keys()) this.collect(pid);
    if (this.waiters.size === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
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

  /** Drop what is remembered of PID (its container is gone). */
  forget(pid: number): void {
    this.children.delete(pid);
    this.exits.delete(pid);
  }

  close(): void {
    process.off('SIGCHLD', this.onSignal);
    if (this.keepAlive) clearInterval(this.keepAlive);
  }
}
