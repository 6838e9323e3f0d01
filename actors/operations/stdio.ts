// Where a process's input and output go: its stdio and preserved fds, and its terminal — over
// --console-socket to whoever listens there (conmon, containerd's shim), or back to berth's caller
// as an fd (a foreground run or exec proxies it). A terminal with nowhere to go is refused before
// anything is made.
import { connectUnixSocket, receiveFd } from '../../native/console.js';
import { BerthError } from '../../native/errors.js';
import { closeFd, socketPair } from '../../native/syscalls.js';
import type { Stdio } from '../messages.js';

/** The fds of this process that become the new process's 0, 1, 2 and preserved fds 3... (this process's 3... unless STDIO names them). */
export function stdioFds(stdio: Stdio | undefined, preserveFds = 0): (number | 'ignore')[] {
  const std: (number | 'ignore')[] = stdio === 'ignore' ? ['ignore', 'ignore', 'ignore'] : stdio === 'inherit' || !stdio ? [0, 1, 2] : stdio;
  const preserved = std.length > 3 ? std.slice(3) : Array.from({ length: preserveFds }, (_, i) => 3 + i);
  return [...std.slice(0, 3), ...preserved];
}

export interface ConsoleRequest {
  consoleSocket?: string;
  /** Hand the pty master back to the caller. */
  returnTerminal?: boolean;
}

export interface ConsoleRoute {
  /** The fd berth-init sends the master over; undefined without a terminal. */
  fd?: number;
  /** After the init is ready: the master, when it comes back to the caller. */
  receive(): number | undefined;
  close(): void;
}

const none: ConsoleRoute = { receive: () => undefined, close: () => {} };

/** Check the terminal request; opening anything waits for open(). */
export function checkConsole(terminal: boolean, req: ConsoleRequest): void {
  if (!terminal && req.consoleSocket) throw new BerthError('--console-socket needs a terminal (process.terminal: true)', 'invalid');
  if (terminal && !req.consoleSocket && !req.returnTerminal)
    throw new BerthError('cannot allocate a terminal without --console-socket when berth does not stay attached', 'invalid');
}

export function openConsole(terminal: boolean, req: ConsoleRequest): ConsoleRoute {
  checkConsole(terminal, req);
  if (!terminal) return none;
  if (req.consoleSocket) {
    let fd: number;
    try {
      fd = connectUnixSocket(req.consoleSocket);
    } catch (e) {
      throw new BerthError(`console socket ${req.consoleSocket}: ${(e as Error).message.replace(/^connect \S+: /, '')}`, 'invalid');
    }
    return { fd, receive: () => undefined, close: () => closeFd(fd) };
  }
  const [ours, theirs] = socketPair();
  return {
    fd: theirs,
    receive: () => receiveFd(ours),
    close: () => {
      closeFd(ours);
      closeFd(theirs);
    },
  };
}
