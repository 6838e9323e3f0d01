// The programmatic API: `import { Runtime } from 'berth'`. Every call is a message (the same the CLI
// sends) with a typed result; events — state changes and process exits — can be listened to or iterated.
import { Coordinator } from './coordinator.js';
import { InlineHost, PooledHost, SpillingHost } from './hosts.js';
import type { LogOptions } from './log.js';
import type { CheckpointOptions, CreateOptions, ExecOptions, Message, ProcessExit, RestoreOptions, ResultOf, RuntimeEvent } from './messages.js';
import type { Resources } from '../native/spec/config.js';
import { defaultRoot } from './stateStore.js';
import type { ProcessParent } from '../native/processParent.js';

export interface RuntimeOptions {
  /** Where container state lives. Default /run/opencontainer/containers (a user's: $XDG_RUNTIME_DIR/berth). */
  root?: string;
  /**
   * Where container operations run: 'spill' (default) on this thread while no other is under way,
   * on a pool of worker threads when others are; 'pool' always on the pool; 'inline' on this thread.
   */
  host?: 'spill' | 'pool' | 'inline';
  /** Size of the worker pool. Default: the number of CPUs. */
  threads?: number;
  log?: LogOptions;
  /** Manage cgroups as v1 or v2; default: v1 when v1 controllers are mounted, else v2. */
  cgroupVersion?: 1 | 2;
  /** No cgroup for containers (crun's --cgroup-manager disabled). */
  noCgroup?: boolean;
  /**
   * Reap the processes of containers (and exec'd processes) this runtime starts but nobody waits
   * for: true (default) for a long-lived program; the CLI leaves them to its caller's subreaper.
   */
  reapDetached?: boolean;
  /** The CRIU binary for checkpoint and restore: a path, or a name on PATH. Default `criu`. */
  criu?: string;
  /**
   * Whose children container and exec'd processes become, and who waits for them: this process by
   * default; the berth server passes the process of the CLI call it handles (needs host 'inline').
   */
  parent?: ProcessParent;
}

export class Runtime {
  private readonly coordinator: Coordinator;

  constructor(opts: RuntimeOptions = {}) {
    this.coordinator = new Coordinator({
      root: opts.root ?? defaultRoot(),
      host: opts.host === 'inline' ? new InlineHost() : opts.host === 'pool' ? new PooledHost(opts.threads) : new SpillingHost(opts.threads),
      log: opts.log ?? {},
      cgroupVersion: opts.cgroupVersion,
      noCgroup: opts.noCgroup,
      reapDetached: opts.reapDetached ?? true,
      criu: opts.criu,
      parent: opts.parent,
    });
  }

  /** Send any message; the result's type follows the message's. */
  send<M extends Message>(msg: M): Promise<ResultOf<M>> {
    return this.coordinator.send(msg);
  }

  create(opts: CreateOptions) {
    return this.send({ type: 'create', ...opts });
  }
  start(id: string, opts: { restart?: boolean; stdio?: CreateOptions['stdio'] } = {}) {
    return this.send({ type: 'start', id, ...opts });
  }
  stop(id: string, opts: { timeout?: number } = {}) {
    return this.send({ type: 'stop', id, ...opts });
  }
  state(id: string) {
    return this.send({ type: 'state', id });
  }
  kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}) {
    return this.send({ type: 'kill', id, signal, ...opts });
  }
  delete(id: string, opts: { force?: boolean } = {}) {
    return this.send({ type: 'delete', id, ...opts });
  }
  run(opts: CreateOptions & { detach?: boolean; keep?: boolean }) {
    return this.send({ type: 'run', ...opts });
  }
  /** A new process in the container; resolves when it exits (or at once with `detach`). */
  exec(opts: ExecOptions) {
    return this.send({ type: 'exec', ...opts });
  }
  /** Resolves when the container's process exits. */
  wait(id: string): Promise<ProcessExit> {
    return this.send({ type: 'wait', id });
  }
  /** Dump the container with CRIU into opts.imagePath. */
  checkpoint(opts: CheckpointOptions) {
    return this.send({ type: 'checkpoint', ...opts });
  }
  /** A new, running container from a checkpoint. */
  restore(opts: RestoreOptions) {
    return this.send({ type: 'restore', ...opts });
  }
  list() {
    return this.send({ type: 'list' });
  }
  pause(id: string) {
    return this.send({ type: 'pause', id });
  }
  resume(id: string) {
    return this.send({ type: 'resume', id });
  }
  /** New limits, merged into the container's recorded linux.resources. */
  update(id: string, resources: Resources) {
    return this.send({ type: 'update', id, resources });
  }
  ps(id: string) {
    return this.send({ type: 'ps', id });
  }
  stats(id: string) {
    return this.send({ type: 'stats', id });
  }

  /** Call LISTENER with every event; returns the function that stops it. */
  on(listener: (e: RuntimeEvent) => void): () => void {
    return this.coordinator.subscribe(listener);
  }

  /** Every event from now on, until the loop breaks or the runtime closes. */
  async *events(): AsyncGenerator<RuntimeEvent> {
    const queue: RuntimeEvent[] = [];
    let wake: (() => void) | null = null;
    const off = this.on((e) => {
      queue.push(e);
      wake?.();
    });
    this.closers.add(() => {
      this.closed = true;
      wake?.();
    });
    try {
      while (!this.closed) {
        if (queue.length) yield queue.shift()!;
        else await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      off();
    }
  }

  private closed = false;
  private readonly closers = new Set<() => void>();

  /** Finish queued operations and release the worker pool. Containers keep running. */
  async close(): Promise<void> {
    await this.coordinator.close();
    for (const c of this.closers) c();
  }
}

export type { CheckpointOptions, CreateOptions, ExecOptions, Message, ProcessExit, RestoreOptions, ResultOf, RuntimeEvent } from './messages.js';
export type { OciState } from './stateStore.js';
export type { Stats } from '../native/cgroups/stats.js';
export type { Resources } from '../native/spec/config.js';
export { BerthError } from '../native/errors.js';
