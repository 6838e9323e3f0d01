// The CLI's entry point in Node (bundled into build/bundle/berth.cjs): `berth server`, or one call
// handled in this process (`--no-server`, BERTH_NO_SERVER=1) with this process's own stdio.
import { readFileSync } from 'node:fs';
import { forwarded, main, type CallIO } from './main.js';

const thisProcessIO: CallIO = {
  cwd: process.cwd(),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readStdin: async () => readFileSync(0),
  stdio: () => 'inherit',
  onSignal: (handler) => {
    for (const sig of forwarded) process.on(sig, () => handler(sig));
  },
  proxyTerminal: async (master) => (await import('./terminal.js')).proxyTerminal(master),
};

void main(process.argv.slice(2), thisProcessIO).then((code) => {
  process.exitCode = code;
});
