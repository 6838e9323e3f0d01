// The coordinator: routes each message to the container it names. Operations that change a
// container's state go through that container's mailbox, one at a time (and, across processes, its
// lock); different containers proceed in parallel. Reads (state, list, wait) and kill do not queue.
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../native/errors.js';
import type { OperationRequest, OperationResult } from './containerActor.js';
import type { ActorHost } from './hosts.js';
import type { Status } from '../machines/container.js';
import type { LogOptions } from './log.js';
import type { Message, ProcessExit, ResultOf, Results, RuntimeEvent } from './messages.js';
import type { Reaper } from './reaper.js';
import { containerDir, listIds, ociState, processAlive, readConfig, readState, validateId, type OciState } from './stateStore.js';

export interface CoordinatorOptions {
  root: string;
  host: ActorHost;
  log: LogOptions;
  cgroupVersion?: 1 | 2;
  /** The CRIU binary for checkpoint and restore: a path, or a name found on PATH (default `criu`). */
  criu?: string;
}

export class Coordinator {
  private readonly mailboxes = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  private reaper: Reaper | null = null;
  private reaperLoad: Promise<Reaper> | null = null;

  constructor(private readonly opts: CoordinatorOptions) {}

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

  private async perform(req: OperationRequest extends infer R ? (R extends unknown ? Omit<R, 'root' | 'log'> : never) : never): Promise<OperationResult> {
    const result = await this.opts.host.perform({ ...req, root: this.opts.root, log: this.opts.log } as OperationRequest);
    this.emit({ type: 'state', id: result.id, status: result.status, pid: result.pid });
    return result;
  }

  async send<M extends Message>(msg: M): Promise<ResultOf<M>> {
    return (await this.dispatch(msg)) as ResultOf<M>;
  }

  private async dispatch(msg: Message): Promise<Results[keyof Results]> {
    switch (msg.type) {
      case 'create': {
        const { type: _, ...create } = msg;
        // Queued before anything is awaited: messages sent together keep their order.
        return this.enqueue(msg.id, async () => {
          const reaper = await this.reaperOf(); // listening before the container process can exit
          const r = await this.perform({ op: 'create', id: msg.id, create: { ...create, cgroupVersion: this.opts.cgroupVersion } });
          reaper.watch(r.id, r.pid);
          if (r.terminal !== undefined) this.emit({ type: 'terminal', id: r.id, pid: r.pid, fd: r.terminal });
          return { id: r.id, pid: r.pid, terminal: r.terminal };
        });
      }
      case 'start': {
        const r = await this.enqueue(msg.id, () => this.perform({ op: 'start', id: msg.id }));
        return { id: r.id, pid: r.pid };
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
        const { type: _, id, ...restore } = msg;
        const criu = await this.criu();
        return this.enqueue(id, async () => {
          const reaper = await this.reaperOf(); // the restored process is this process's child
          const r = await this.perform({ op: 'restore', id, restore: { ...restore, criu, cgroupVersion: this.opts.cgroupVersion } });
          reaper.watch(r.id, r.pid);
          if (r.terminal !== undefined) this.emit({ type: 'terminal', id: r.id, pid: r.pid, fd: r.terminal });
          return { id: r.id, pid: r.pid, terminal: r.terminal };
        });
      }
      case 'state':
        return ociState(readState(this.opts.root, msg.id));
      case 'list':
        return this.list();
      case 'wait':
        return this.wait(msg.id);
      case 'run':
        return this.run(msg);
      case 'exec':
        return this.exec(msg);
      case 'plan':
        return this.plan(msg);
      case 'statechart': {
        const { describeLifecycle } = await import('../machines/describe.js');
        return describeLifecycle();
      }
      case 'spec': {
        const { defaultSpec } = await import('../native/spec/defaults.js');
        return defaultSpec();
      }
      case 'features': {
        const { features } = await import('../native/spec/features.js');
        return features();
      }
    }
  }

  private async plan(msg: Extract<Message, { type: 'plan' }>): Promise<Results['plan']> {
    const { prepareCreate } = await import('./operations/create.js');
    const { createLogger } = await import('./log.js');
    validateId(msg.id);
    const dir = containerDir(this.opts.root, msg.id);
    const { type: _, ...create } = msg;
    const { plan, cgroupDirs } = prepareCreate({ root: this.opts.root, id: msg.id, dir, log: createLogger(this.opts.log), state: null }, { ...create, cgroupVersion: this.opts.cgroupVersion });
    const show = (a: unknown) => (typeof a === 'string' ? JSON.stringify(a) : typeof a === 'bigint' ? `0x${a.toString(16)}` : Buffer.isBuffer(a) ? `<${a.length} bytes>` : String(a));
    return { id: msg.id, stateDir: dir, cgroupDirs, steps: plan.map((s) => ({ op: s.op, what: s.what, args: s.args.map(show) })) };
  }

  /** The CRIU binary, checked once per process before a checkpoint or restore does anything. */
  private async criu(): Promise<string> {
    const { checkCriu } = await import('../native/criu/check.js');
    return checkCriu(this.opts.criu, this.opts.root);
  }

  private list(): OciState[] {
    const states: OciState[] = [];
    for (const id of listIds(this.opts.root)) {
      try {
        states.push(ociState(readState(this.opts.root, id)));
      } catch {
        // a folder being created or deleted right now: not a container (yet, or any more)
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
    const reaper = this.reaper;
    if (reaper?.owns(state.pid)) return reaper.wait(state.pid);
    for (let delay = 5; processAlive(state); delay = Math.min(delay * 2, 100)) await sleep(delay);
    return { id, pid: state.pid, exec: false, exitCode: null, signal: null };
  }

  /** Not queued: execs into one container run in parallel (its lock is not taken either). */
  private async exec(msg: Extract<Message, { type: 'exec' }>): Promise<Results['exec']> {
    const { processForExec } = await import('./operations/exec.js');
    validateId(msg.id);
    readState(this.opts.root, msg.id); // "container does not exist" first
    const process = processForExec(readConfig(containerDir(this.opts.root, msg.id)).process, msg);
    const reaper = await this.reaperOf();
    const { id, consoleSocket, returnTerminal, stdio, preserveFds, pidFile } = msg;
    const r = await this.perform({ op: 'exec', id, ignorePaused: msg.ignorePaused ?? false, exec: { process, consoleSocket, returnTerminal, stdio, preserveFds, pidFile } });
    const pid = r.execPid!;
    // Waiting starts before watching: an exec'd process's exit is not kept for later.
    const exit = msg.detach ? null : reaper.wait(pid);
    reaper.watch(id, pid, true);
    this.emit({ type: 'exec', id, pid });
    if (r.terminal !== undefined) this.emit({ type: 'terminal', id, pid, fd: r.terminal });
    return { id, pid, exit: exit && (await exit) };
  }

  private async run(msg: Extract<Message, { type: 'run' }>): Promise<Results['run']> {
    const { type: _, detach, ...create } = msg;
    const { pid } = (await this.dispatch({ type: 'create', ...create })) as Results['create'];
    try {
      await this.dispatch({ type: 'start', id: msg.id });
    } catch (e) {
      await this.dispatch({ type: 'delete', id: msg.id, force: true });
      throw e;
    }
    if (detach) return { id: msg.id, pid, exit: null };
    const exit = await this.wait(msg.id);
    await this.dispatch({ type: 'delete', id: msg.id, force: true });
    return { id: msg.id, pid, exit };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.mailboxes.values());
    this.reaper?.close();
    await this.opts.host.close();
  }
}
