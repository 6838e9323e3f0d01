// A foreground run or exec with a terminal and no console socket: berth's own terminal is proxied
// to the container's pty — raw mode, both directions, and the window size as it changes.
import { createReadStream, writeSync } from 'node:fs';
import { setWindowSize } from '../native/console.js';
import { closeFd } from '../native/syscalls.js';

export interface Proxy {
  /** Resolves once the container's side has closed and all its output is written. */
  drained: Promise<void>;
  stop(): void;
}

export function proxyTerminal(master: number): Proxy {
  const { stdin, stdout } = process;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const resize = () => {
    if (stdout.isTTY) setWindowSize(master, stdout.rows, stdout.columns);
  };
  resize();
  stdout.on('resize', resize);
  const onInput = (chunk: Buffer) => writeSync(master, chunk);
  stdin.on('data', onInput);
  const output = createReadStream('', { fd: master, autoClose: false });
  // When the last process holding the pty exits, reading the master fails with EIO: that is the end.
  const drained = new Promise<void>((resolve) => {
    output.on('error', () => resolve());
    output.on('end', () => resolve());
  });
  output.pipe(stdout, { end: false });
  return {
    drained,
    stop() {
      stdout.off('resize', resize);
      stdin.off('data', onInput);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
      output.destroy();
      closeFd(master);
    },
  };
}
