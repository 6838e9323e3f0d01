// `berth server`: the berth server (actors/server) handling each call with the CLI's own main(),
// its inputs and outputs those of the calling cli/berth process.
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, type LogOptions } from '../actors/log.js';
import type { Caller } from '../actors/server/caller.js';
import type { Call } from '../actors/server/protocol.js';
import { serve } from '../actors/server/server.js';
import { signalName } from '../native/signals.js';
import { forwarded, main, type CallIO } from './main.js';

const DEFAULT_IDLE_SECONDS = 60;

function callerIO(call: Call, caller: Caller, root: string): CallIO {
  return {
    root,
    cwd: call.cwd,
    stdout: (text) => caller.write(1, text),
    stderr: (text) => caller.write(2, text),
    readStdin: () => caller.readStdin(),
    stdio: (preserve) => [caller.fd(0), caller.fd(1), caller.fd(2), ...Array.from({ length: preserve }, (_, i) => caller.fd(3 + i))],
    parent: caller.parent,
    callerGone: caller.callerGone,
    onSignal: (handler) =>
      caller.forwardSignals((signo) => {
        const name = forwarded.find((s) => s === signalName(signo));
        if (name) handler(name);
      }),
    // The caller proxies its own terminal, and drains it before it exits.
    proxyTerminal: async (master) => {
      await caller.proxyTerminal(master);
      return { drained: Promise.resolve(), stop: () => {} };
    },
  };
}

/** Whether the file this code runs from was replaced since the server started (a new build). */
function rebuilt(): () => boolean {
  const self = fileURLToPath(import.meta.url);
  const stamp = (st = statSync(self, { throwIfNoEntry: false })) => (st ? `${st.ino}:${st.mtimeMs}` : 'gone');
  const first = stamp();
  return () => stamp() !== first;
}

export async function runServer(opts: { root: string; idleSeconds?: number; log: LogOptions }): Promise<never> {
  const idleSeconds = opts.idleSeconds ?? (Number(process.env.BERTH_SERVER_IDLE) || DEFAULT_IDLE_SECONDS);
  const { stderr: _, ...log } = opts.log; // the server's own log: its stderr, not a call's
  const code = await serve({ root: opts.root, idleMs: idleSeconds * 1000, log: createLogger(log), handle: (call, caller) => main(call.argv, callerIO(call, caller, opts.root)), stale: rebuilt() });
  // Nothing is left to do, whatever handles (a container's pidfd watch, a timer) are still open.
  process.exit(code);
}
