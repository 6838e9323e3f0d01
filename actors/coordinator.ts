// The coordinator: routes each message to the container it names. Operations that change a
// container's state go through that container's mailbox, one at a time (and, across processes, its
// lock); different containers proceed in parallel. Reads (state, list, wait, ps, stats, events),
// kill and exec do not queue.
import { BerthError, isErrno } from '../native/errors.js';
import { rootless } from '../native/procfs.js';
import type { OperationRequest, OperationResult } from './containerActor.js';
import type { ActorHost } from './hosts.js';
import type { Status } from '../machines/container.js';
import type { HookClient, HookRunner } from './hookRunner.js';
import { createLogger, type LogOptions } from './log.js';
import type { Message, ProcessExit, ResultOf, Results, RuntimeEvent } from './messages.js';
import type { Reaper } from './reaper.js';
import { thisProcess, type ProcessParent } from '../native/processParent.js';
import { containerDir, listIds, ociState, processAlive, readConfig, readState, validateId, type OciState } from './stateStore.js';

/** An operation as the coordinator sends it: the host adds the root and the log options. */
type Request = OperationRequest extends infer R ? (R extends unknown ? Omit<R, 'root' | 'log'> : never) : never;

export interface CoordinatorOptions {
  root: string;
  host: ActorHost;
  log: LogOptions;
  cgroupVersion?: 1 | 2;
  /** crun's --cgroup-manager disabled: containers get no cgroup (as a rootless berth's). */
  noCgroup?: boolean;
  /**
   * Reap every container and exec'd process this process starts (true), or only those it waits
   * for. A CLI call that exits at once must leave the others to its caller's subreaper (conmon,
   * containerd's shim): reaping them here would take their exit status from it.
   */
  reapDetached: boolean;
  /** The CRIU binary for checkpoint and restore: a path, or a name found on PATH (default `criu`). */
  criu?: string;
  /** Whose children container and exec'd processes become (a CLI call's process): it waits for them. This process when absent. */
  parent?: ProcessParent;
}

export class Coordinator {
  private readonly mailboxes = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  /** Running `events` watches, ended by close(). */
  private readonly watches = new Set<AbortController>();
  private reaper: Reaper | null = null;
  private reaperLoad: Promise<Reaper> | null = null;

  constructor(private readonly opts: CoordinatorOptions) {}

  /** Processes are a caller's children, which it waits for. */
  private get remote(): boolean {
    return this.opts.parent?.remote ?? false;
  }

  /** Listen to every event; returns the function that stops listening. */
  subscribe(listener: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: RuntimeEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** The reaper is made on first need (reading state must not load koffi), once. */
  private reaperOf(): Promise<Reaper> {
    this.reaperLoad ??= import('./reaper.js').then(({ Reaper }) => {
      // The exit can be seen while `start` is still finishing: it is announced behind it, in the mailbox.
      this.reaper = new Reaper((exit) => void this.enqueue(exit.id, async () => this.emit({ type: 'exit', ...exit })));
      return this.reaper;
    });
    return this.reaperLoad;
  }

  private enqueue<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.mailboxes.get(id) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.mailboxes.set(id, tail);
    void tail.then(() => {
      if (this.mailboxes.get(id) === tail) this.mailboxes.delete(id);
    });
    return result;
  }

  /** Hooks of every operation go through one runner, made on first need (it is not light to load). */
  private readonly hooks: HookClient = {
    run: async (run) => {
      this.hookRunner ??= import('./hookRunner.js').then(
        ({ HookRunner }) => new HookRunner(this.opts.root, createLogger(this.opts.log), (o) => this.emit({ type: 'hook', ...o })),
      );
      return (await this.hookRunner).run(run);
    },
  };
  private hookRunner: Promise<HookRunner> | null = null;

  private async perform(req: Request): Promise<OperationResult> {
    const result = await this.opts.host.perform({ ...req, root: this.opts.root, log: this.opts.log } as OperationRequest, { hooks: this.hooks, parent: this.opts.parent });
    this.emit({ type: 'state', id: result.id, status: result.status, pid: result.pid });
    return result;
  }

  async send<M extends Message>(msg: M): Promise<ResultOf<M>> {
    return (await this.dispatch(msg)) as ResultOf<M>;
  }

  /** Create or restore through the container's mailbox; REAP: its process is reaped here. */
  private newContainer(reap: boolean, req: Extract<Request, { op: 'create' | 'restore' }>): Promise<{ id: string; pid: number; terminal?: number }> {
    // Queued before anything is awaited: messages sent together keep their order.
    return this.enqueue(req.id, async () => {
      const reaper = reap && !this.remote ? await this.reaperOf() : null; // listening before the container process can exit
      const r = await this.perform(req);
      reaper?.watch(r.id, r.pid);
      if (r.terminal !== undefined) this.emit({ type: 'terminal', id: r.id, pid: r.pid, fd: r.terminal });
      return { id: r.id, pid: r.pid, terminal: r.terminal };
    });
  }

  private async dispatch(msg: Message): Promise<Results[keyof Results]> {
    switch (msg.type) {
      case 'create': {
        const { type: _, ...create } = msg;
        return this.newContainer(this.opts.reapDetached, { op: 'create', id: msg.id, create: { ...create, cgroupVersion: this.opts.cgroupVersion, noCgroup: this.opts.noCgroup } });
      }
      case 'start': {
        const r = await this.enqueue(msg.id, () => this.perform({ op: 'start', id: msg.id, restart: msg.restart, stdio: msg.stdio }));
        // A restarted container has a new process, a child of this one.
        if (msg.restart && this.opts.reapDetached && !this.remote) (await this.reaperOf()).watch(r.id, r.pid);
        return { id: r.id, pid: r.pid };
      }
      case 'stop': {
        await this.enqueue(msg.id, () => this.perform({ op: 'stop', id: msg.id, timeoutSeconds: msg.timeout ?? 10 }));
        return { id: msg.id };
      }
      case 'kill': {
        const { parseSignal } = await import('../native/signals.js');
        let signal: number;
        try {
          signal = parseSignal(String(msg.signal ?? 'SIGTERM'));
        } catch (e) {
          throw new BerthError((e as Error).message, 'invalid');
        }
        await this.perform({ op: 'kill', id: msg.id, signal, all: msg.all ?? false });
        return { id: msg.id };
      }
      case 'delete': {
        const r = await this.enqueue(msg.id, () => this.perform({ op: 'delete', id: msg.id, force: msg.force ?? false }));
        this.reaper?.forget(r.pid);
        return { id: msg.id };
      }
      case 'checkpoint': {
        const { type: _, id, ...checkpoint } = msg;
        const criu = await this.criu();
        const r = await this.enqueue(id, () => this.perform({ op: 'checkpoint', id, checkpoint: { ...checkpoint, criu } }));
        return { id, status: r.status as Status };
      }
      case 'restore': {
        const { type: _, id, detach, ...restore } = msg;
        const criu = await this.criu();
        // The restored process is this process's child, reaped here unless it is the caller's to reap.
        return this.newContainer(this.opts.reapDetached || !detach, { op: 'restore', id, restore: { ...restore, criu, cgroupVersion: this.opts.cgroupVersion, noCgroup: this.opts.noCgroup } });
      }
      case 'state':
        return ociState(readState(this.opts.root, msg.id), containerDir(this.opts.root, msg.id));
      case 'list':
        return this.list();
      case 'wait':
        return this.wait(msg.id);
      case 'run':
        return this.run(msg);
      case 'exec':
        return this.exec(msg);
      case 'pause':
      case 'resume':
        await this.enqueue(msg.id, () => this.perform({ op: msg.type, id: msg.id }));
        return { id: msg.id };
      case 'update': {
        const r = await this.enqueue(msg.id, () => this.perform({ op: 'update', id: msg.id, resources: msg.resources }));
        return { id: msg.id, resources: r.resources! };
      }
      case 'ps': {
        const { containerPids } = await import('./operations/ps.js');
        return { id: msg.id, pids: containerPids(readState(this.opts.root, msg.id)) };
      }
      case 'stats': {
        const { containerStats } = await import('./operations/events.js');
        return containerStats(readState(this.opts.root, msg.id));
      }
      case 'events':
        return this.watch(msg);
      case 'plan':
        return this.plan(msg);
      case 'statechart': {
        const { describeLifecycle } = await import('../machines/describe.js');
        return describeLifecycle();
      }
      case 'spec': {
        const { defaultSpec, rootlessSpec } = await import('../native/spec/defaults.js');
        return msg.rootless ? rootlessSpec(msg.rootless.uid, msg.rootless.gid) : defaultSpec();
      }
      case 'features': {
        const { features } = await import('../native/spec/features.js');
        return features();
      }
    }
  }

  private async plan(msg: Extract<Message, { type: 'plan' }>): Promise<Results['plan']> {
    const { prepareCreate } = await import('./operations/create.js');
    validateId(msg.id);
    const dir = containerDir(this.opts.root, msg.id);
    const { type: _, ...create } = msg;
    const { plan, cgroupDirs } = prepareCreate({ root: this.opts.root, id: msg.id, dir, log: createLogger(this.opts.log), state: null, hooks: this.hooks, parent: thisProcess, alone: () => true }, { ...create, cgroupVersion: this.opts.cgroupVersion, noCgroup: this.opts.noCgroup });
    const show = (a: unknown) => (typeof a === 'string' ? JSON.stringify(a) : typeof a === 'bigint' ? `0x${a.toString(16)}` : Buffer.isBuffer(a) ? `<${a.length} bytes>` : String(a));
    return { id: msg.id, stateDir: dir, cgroupDirs, steps: plan.map((s) => ({ op: s.op, what: s.what, args: s.args.map(show) })) };
  }

  /** The CRIU binary, checked once per process before a checkpoint or restore does anything. */
  private async criu(): Promise<string> {
    // As runc: CRIU needs root (or CAP_CHECKPOINT_RESTORE and its --unprivileged mode, not offered).
    if (rootless()) throw new BerthError('checkpoint and restore need root: CRIU cannot dump or restore processes for a rootless berth', 'failed');
    const { checkCriu } = await import('../native/criu/check.js');
    return checkCriu(this.opts.criu, this.opts.root);
  }

  private list(): OciState[] {
    const states: OciState[] = [];
    for (const id of listIds(this.opts.root)) {
      try {
        states.push(ociState(readState(this.opts.root, id), containerDir(this.opts.root, id)));
      } catch (e) {
        // A folder being created or deleted right now is not a container (yet, or any more); one
        // whose state cannot be read is, and is named, as runc does, rather than left out unseen.
        if (!(e instanceof BerthError && e.kind === 'not-found')) createLogger(this.opts.log).warn(`container ${id} is left out of the list: ${(e as Error).message}`);
      }
    }
    return states;
  }

  /**
   * The exit of the container's process. Its exit status is known when this process created it
   * (the reaper collects it); for another process's container only the fact that it ended is.
   */
  private async wait(id: string): Promise<ProcessExit> {
    const state = readState(this.opts.root, id);
    if (this.remote) {
      try {
        return { id, exec: false, ...(await this.opts.parent!.reap(state.pid)) };
      } catch (e) {
        // not a child of the caller's process: all that can be known is when it ends
        if (!isErrno(e, 'ECHILD')) throw e;
      }
    }
    const reaper = this.reaper;
    if (reaper?.owns(state.pid)) return reaper.wait(state.pid);
    const { waitForExit } = await import('../native/signalling.js');
    if (processAlive(state)) await waitForExit(state.pid, state.berth.pidStartTime, Infinity);
    return { id, pid: state.pid, exec: false, exitCode: null, signal: null };
  }

  /** Not queued: execs into one container run in parallel (its lock is not taken either). */
  private async exec(msg: Extract<Message, { type: 'exec' }>): Promise<Results['exec']> {
    const { processForExec } = await import('./operations/exec.js');
    validateId(msg.id);
    readState(this.opts.root, msg.id); // "container does not exist" first
    const process = processForExec(readConfig(containerDir(this.opts.root, msg.id)).process, msg);
    const reaper = this.remote ? null : await this.reaperOf();
    const { id, consoleSocket, returnTerminal, stdio, preserveFds, pidFile, subCgroup, pidfdSocket } = msg;
    const r = await this.perform({ op: 'exec', id, ignorePaused: msg.ignorePaused ?? false, exec: { process, consoleSocket, returnTerminal, stdio, preserveFds, pidFile, subCgroup, pidfdSocket } });
    const pid = r.execPid!;
    // Waiting starts before watching: an exec'd process's exit is not kept for later.
    const exit = msg.detach ? null : reaper ? reaper.wait(pid) : this.opts.parent!.reap(pid).then((e) => ({ id, exec: true, ...e }));
    if (reaper && (exit || this.opts.reapDetached)) reaper.watch(id, pid, true);
    this.emit({ type: 'exec', id, pid });
    if (r.terminal !== undefined) this.emit({ type: 'terminal', id, pid, fd: r.terminal });
    return { id, pid, exit: exit && (await exit) };
  }

  /** Not queued, no lock: watching reads the cgroup beside whatever the container's operations do. */
  private async watch(msg: Extract<Message, { type: 'events' }>): Promise<Results['events']> {
    const { watchContainer } = await import('./operations/events.js');
    const state = readState(this.opts.root, msg.id);
    const stop = new AbortController();
    if (msg.signal?.aborted) stop.abort();
    msg.signal?.addEventListener('abort', () => stop.abort(), { once: true });
    this.watches.add(stop);
    try {
      return await watchContainer(state, { intervalMs: msg.interval ?? 5000, signal: stop.signal, log: createLogger(this.opts.log) }, (e) => this.emit(e));
    } finally {
      this.watches.delete(stop);
    }
  }

  private async run(msg: Extract<Message, { type: 'run' }>): Promise<Results['run']> {
    const { type: _, detach, keep, ...create } = msg;
    const { pid } = (await this.dispatch({ type: 'create', ...create })) as Results['create'];
    try {
      await this.dispatch({ type: 'start', id: msg.id });
    } catch (e) {
      await this.dispatch({ type: 'delete', id: msg.id, force: true });
      throw e;
    }
    if (detach) return { id: msg.id, pid, exit: null };
    if (!this.remote) (await this.reaperOf()).watch(msg.id, pid); // waited for: reaped here, whatever reapDetached says
    const exit = await this.wait(msg.id);
    if (!keep) await this.dispatch({ type: 'delete', id: msg.id, force: true });
    return { id: msg.id, pid, exit };
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.abort();
    await Promise.allSettled(this.mailboxes.values());
    this.reaper?.close();
    await this.opts.host.close();
  }
}
