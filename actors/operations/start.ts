// start: release the container's process from the barrier. It waits reading the fifo; one byte lets
// it exec the program. No reader on the fifo means the process is gone. startContainer hooks run
// before, in the container (a failing one kills it); poststart hooks after (a failing one kills it
// too under runtime-spec 1.3, is a warning for a bundle of an earlier 1.x).
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { BerthError, isErrno } from '../../native/errors.js';
import { signalProcess } from '../../native/signalling.js';
import { signals } from '../../native/signals.js';
import type { Config } from '../../native/spec/config.js';
import { specAtLeast } from '../../native/spec/validate.js';
import { fifoPath, readConfig, retireStartFifo, type StateFile } from '../stateStore.js';
import { requireState, runHooks, type OperationContext } from './context.js';
import { faultPoint } from '../faultPoint.js';

export async function startContainer(ctx: OperationContext): Promise<void> {
  const state = requireState(ctx);
  await releaseProcess(ctx, state, requireProcess(readConfig(ctx.dir)));
}

/** runtime.md: start MUST fail when config.json set no process; the container stays as it is. */
export function requireProcess(config: Config): Config {
  if (!config.process) throw new BerthError("the container has no process to start: its config.json's process is not set", 'invalid');
  return config;
}

/** startContainer hooks, the barrier's release, poststart hooks: a start's, and a restart's after its create. */
export async function releaseProcess(ctx: OperationContext, state: StateFile, config: Config): Promise<void> {
  try {
    await runHooks(ctx, 'startContainer', config.hooks?.startContainer, state, { inContainer: { pid: state.pid, config } });
  } catch (e) {
    signalProcess(state.pid, state.berth.pidStartTime, signals.SIGKILL!);
    throw e;
  }
  faultPoint('start.hooks');
  release(ctx);
  faultPoint('start.released');
  // runtime-spec 1.3: a failing poststart hook is an error and stops the container. A bundle that
  // says it follows an earlier 1.x gets that version's rule: a warning, and the container runs on.
  const fatal = specAtLeast(config.ociVersion, '1.3.0');
  try {
    await runHooks(ctx, 'poststart', config.hooks?.poststart, state, { fatal });
  } catch (e) {
    signalProcess(state.pid, state.berth.pidStartTime, signals.SIGKILL!);
    throw e;
  }
}

function release(ctx: OperationContext): void {
  const fifo = fifoPath(ctx.dir);
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (isErrno(e, 'ENXIO', 'ENOENT')) throw new BerthError('cannot start a container that has stopped', 'state');
    throw e;
  }
  try {
    writeSync(fd, '0');
  } finally {
    closeSync(fd);
  }
  try {
    retireStartFifo(ctx.dir);
  } catch (e) {
    // Released all the same: the process no longer holds the fifo, and state reads it as running.
    throw new BerthError(`the container was started, but its fifo ${fifo} could not be removed: ${(e as NodeJS.ErrnoException).code}`);
  }
}
