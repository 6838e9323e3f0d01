// The hook runner: runs config.json's hooks for the operations of every container this berth
// process handles, one hook at a time, in the order they were asked for — and, across berth
// processes, one at a time too, under an flock on the state root. Hooks such as network set-up are
// rarely safe to run concurrently; a hung hook is bounded by its timeout, so it can delay others
// but never block them for good. Operations in pooled workers reach it through a comlink port.
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { compileHookPlan } from '../native/compile/execPlan.js';
import { BerthError } from '../native/errors.js';
import { runInit } from '../native/initProcess.js';
import { thisProcess } from '../native/processParent.js';
import { procStat } from '../native/procfs.js';
import { signalName } from '../native/signals.js';
import type { Config, Hook, HookKind } from '../native/spec/config.js';
import { spawnProcess } from '../native/spawn.js';
import { closeFd, pipePair, waitChild } from '../native/syscalls.js';
import { waitForExit } from '../native/signalling.js';
import { lockFolder } from './folderLock.js';
import type { Logger } from './log.js';
import type { OciState } from './stateStore.js';

/** What an operation asks for: the hooks of one kind, with the state they get on stdin. */
export interface HookRun {
  kind: HookKind;
  hooks: Hook[];
  state: Pick<OciState, 'ociVersion' | 'id' | 'status' | 'pid' | 'bundle' | 'annotations'>;
  /** Run in the namespaces of this container process (createContainer, startContainer), with its config. */
  inContainer?: { pid: number; config: Config };
  /** A failing poststart hook fails the run too (runtime-spec 1.3; before it, a warning). */
  fatal?: boolean;
}

/** The face operations see (directly, or through comlink from a worker thread). */
export interface HookClient {
  run(run: HookRun): Promise<void>;
}

export interface HookOutcome {
  id: string;
  kind: HookKind;
  index: number;
  path: string;
  durationMs: number;
  exitCode: number | null;
  signal: number | null;
}

/** A hook without a timeout of its own may not hold the others back longer than this. */
const DEFAULT_TIMEOUT_S = 120;
/** What is kept of a hook's stdout and stderr; the rest is read and dropped, so it never blocks. */
const OUTPUT_BOUND = 64 * 1024;

interface Started {
  pid: number;
  /** Our ends of its stdin, stdout and stderr pipes. */
  stdin: number;
  stdout: number;
  stderr: number;
}

/** Pipes for a hook's stdio: the child's ends (to hand over, then close) and ours. */
function hookPipes() {
  const [inR, inW] = pipePair();
  const [outR, outW] = pipePair();
  const [errR, errW] = pipePair();
  return { child: [inR, outW, errW], ours: { stdin: inW, stdout: outR, stderr: errR } };
}

/**
 * A hook in berth's own namespaces, or — for createContainer and startContainer — in the
 * container's, where berth-init joins them and execs it as exec does. Either way with exactly its
 * argv and env (child_process would add NODE_V8_COVERAGE and the like).
 */
async function startHook(hook: Hook, inContainer: HookRun['inContainer']): Promise<Started> {
  const pipes = hookPipes();
  try {
    if (!inContainer) return { pid: spawnProcess(hook.path, hook.args ?? [hook.path], hook.env ?? [], pipes.child), ...pipes.ours };
    let pid = 0;
    await runInit({ plan: compileHookPlan(inContainer.config, hook, inContainer.pid), parent: thisProcess, stdio: pipes.child, onPid: (p) => (pid = p), untilExec: true });
    return { pid, ...pipes.ours };
  } catch (e) {
    for (const fd of Object.values(pipes.ours)) closeFd(fd);
    throw new BerthError(`cannot run ${hook.path}: ${(e as Error).message}`);
  } finally {
    for (const fd of pipes.child) closeFd(fd);
  }
}

/** The exit of a hook (a child of this process): reaped here, nobody else knows it. */
async function exitOf(pid: number): Promise<{ exitCode: number | null; signal: number | null }> {
  await waitForExit(pid, procStat(pid)?.startTime ?? 0, 2 ** 31 - 1);
  return waitChild(pid);
}

/** Keep the first OUTPUT_BOUND bytes of STREAM; `ended` resolves at its end. */
function collect(stream: NodeJS.ReadableStream): { text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  let kept = 0;
  stream.on('data', (d: Buffer) => {
    if (kept < OUTPUT_BOUND) chunks.push(d.subarray(0, OUTPUT_BOUND - kept));
    kept += d.length;
  });
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('error', () => resolve());
    stream.on('close', resolve);
  });
  return { text: () => Buffer.concat(chunks).toString('utf8'), ended };
}

/** After the hook exited, what it wrote may still be on its way; a child it left may hold the pipes: wait, briefly. */
const STREAM_GRACE_MS = 500;

/** The state goes on the hook's stdin; a hook that does not read it is fine. */
function writeStdin(fd: number, data: string): void {
  try {
    writeSync(fd, data);
  } catch {
    // EPIPE: it exited without reading
  }
  closeFd(fd);
}

export class HookRunner implements HookClient {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly root: string,
    private readonly log: Logger,
    private readonly onOutcome: (o: HookOutcome) => void,
  ) {}

  /**
   * Run RUN's hooks in order, after every run asked for before it. A failure of a hook that comes
   * before the program runs is thrown, and the rest are not run; a poststop failure, and a poststart
   * one unless RUN says it is fatal, is a warning, and the rest run on (the spec's rule).
   */
  run(run: HookRun): Promise<void> {
    if (run.hooks.length === 0) return Promise.resolve();
    const warnOnly = !run.fatal && (run.kind === 'poststart' || run.kind === 'poststop');
    const turn = this.queue.then(async () => {
      const unlock = await lockFolder(this.root);
      try {
        for (const [index, hook] of run.hooks.entries()) {
          try {
            await this.one(run, hook, index);
          } catch (e) {
            if (!warnOnly) throw e;
            this.log.warn(`${(e as Error).message} (container ${run.state.id} goes on)`);
          }
        }
      } finally {
        unlock();
      }
    });
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async one(run: HookRun, hook: Hook, index: number): Promise<void> {
    const name = `hooks.${run.kind}[${index}]`;
    const began = performance.now();
    const started = await startHook(hook, run.inContainer);
    const exited = exitOf(started.pid);
    const stderr = collect(new Socket({ fd: started.stderr, readable: true }));
    const stdout = collect(new Socket({ fd: started.stdout, readable: true }));
    writeStdin(started.stdin, JSON.stringify(run.state));
    const timeout = (hook.timeout ?? DEFAULT_TIMEOUT_S) * 1000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(started.pid, 'SIGKILL');
    }, timeout);
    const { exitCode, signal } = await exited;
    clearTimeout(timer);
    await Promise.race([Promise.all([stdout.ended, stderr.ended]), new Promise((r) => setTimeout(r, STREAM_GRACE_MS))]);
    const durationMs = performance.now() - began;
    this.onOutcome({ id: run.state.id, kind: run.kind, index, path: hook.path, durationMs, exitCode, signal });
    this.log.debug(`${name} ${hook.path}: ${exitCode ?? signalName(signal ?? 0)} in ${durationMs.toFixed(1)} ms`);
    if (timedOut) throw new BerthError(`${name} (${hook.path}): timed out after ${timeout / 1000} s`);
    if (exitCode !== 0) {
      const why = exitCode === null ? `killed by ${signalName(signal ?? 0)}` : `exit status ${exitCode}`;
      const said = stderr.text().trim().split('\n').filter(Boolean).join('; ');
      throw new BerthError(`${name} (${hook.path}): ${why}${said ? `: ${said}` : ''}`);
    }
  }
}
