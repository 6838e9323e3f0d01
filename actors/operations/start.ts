// start: release the container's process from the barrier. It waits reading the fifo; one byte lets
// it exec the program. No reader on the fifo means the process is gone.
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { BerthError, isErrno } from '../../native/errors.js';
import { fifoPath } from '../stateStore.js';
import type { OperationContext } from './context.js';

export function startContainer(ctx: OperationContext): void {
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
  rmSync(fifo, { force: true });
}
