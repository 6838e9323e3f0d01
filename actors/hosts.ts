// Where container actors run. Every host runs the same performOperation; they differ in the thread.
//   PooledHost: a small piscina pool of worker threads: operations on many containers run in
//     parallel, and the coordinator's thread never blocks on a system call.
//   InlineHost: the calling thread. For the CLI, a process that lives for one operation: starting a
//     worker thread costs more than the operation itself (README, "Design").
//   SpillingHost (default for the API): inline while no other operation is under way, the pool
//     for the ones that come meanwhile. A lone operation's hop to a worker and back cost 0.7–0.9 ms
//     here (a lifecycle of three: 11 ms inline, 14 through the pool), the thread switches of an
//     idle two-vCPU VM; many at once are what the pool is for.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { BerthError } from '../native/errors.js';
import type { OperationRequest, OperationResult, OperationServices, Outcome } from './containerActor.js';

export interface ActorHost {
  perform(req: OperationRequest, services: OperationServices): Promise<OperationResult>;
  close(): Promise<void>;
}

function unwrap(outcome: Outcome): OperationResult {
  if (outcome.ok) return outcome.result;
  throw new BerthError(outcome.error.message, outcome.error.kind);
}

export class InlineHost implements ActorHost {
  /** Loaded on first use (state and list never need it), once: an import() per operation cost ≈10 µs. */
  private actor: Promise<typeof import('./containerActor.js')> | null = null;

  async perform(req: OperationRequest, services: OperationServices): Promise<OperationResult> {
    const { performOperation } = await (this.actor ??= import('./containerActor.js'));
    return unwrap(await performOperation(req, services));
  }

  async close(): Promise<void> {}
}

export class PooledHost implements ActorHost {
  private pool: import('piscina').Piscina | null = null;

  constructor(private readonly threads = availableParallelism()) {}

  private async open() {
    if (!this.pool) {
      // required, not import()ed: the CLI's bundle runs in a vm.Script, where import() has no loader
      const { Piscina } = createRequire(import.meta.url)('piscina') as typeof import('piscina');
      this.pool = new Piscina({
        filename: new URL('./worker.js', import.meta.url).href,
        minThreads: 0,
        maxThreads: this.threads,
        // Idle threads go away: a runtime with nothing to do should cost no threads.
        idleTimeout: 5_000,
        // An operation mostly waits (on berth-init's socket, a pidfd, a hook): one thread interleaves
        // many. One task per thread held 8 parallel creates to 2 at a time here (benchmarks/lifecycle).
        concurrentTasksPerWorker: 16,
      });
    }
    return this.pool;
  }

  /** What each task's hook port needs, loaded once. */
  private ports: Promise<[typeof import('comlink'), typeof import('comlink/dist/esm/node-adapter.mjs')]> | null = null;

  async perform(req: OperationRequest, { hooks, parent }: OperationServices): Promise<OperationResult> {
    // A caller's process spawns over its connection, which lives on this thread.
    if (parent?.remote) throw new BerthError('the worker pool cannot spawn through a caller process: use the inline host', 'invalid');
    const pool = await this.open();
    const [Comlink, { default: nodeEndpoint }] = await (this.ports ??= Promise.all([import('comlink'), import('comlink/dist/esm/node-adapter.mjs')]));
    const { port1, port2 } = new MessageChannel();
    Comlink.expose(hooks, nodeEndpoint(port1));
    try {
      const { stderr: _, ...log } = req.log; // a function: it stays on this thread
      return unwrap((await pool.run({ req: { ...req, log }, hooks: port2 }, { transferList: [port2] })) as Outcome);
    } finally {
      port1.close();
    }
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
    this.pool = null;
  }
}

export class SpillingHost implements ActorHost {
  private underWay = 0;

  constructor(
    threads?: number,
    private readonly inline: ActorHost = new InlineHost(),
    private readonly pool: ActorHost = new PooledHost(threads),
  ) {}

  async perform(req: OperationRequest, services: OperationServices): Promise<OperationResult> {
    // A caller's process spawns over its connection, which lives on this thread.
    const host = this.underWay === 0 || services.parent?.remote ? this.inline : this.pool;
    this.underWay++;
    try {
      return await host.perform(req, services);
    } finally {
      this.underWay--;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.inline.close(), this.pool.close()]);
  }
}
