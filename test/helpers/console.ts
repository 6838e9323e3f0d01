// The console socket's other end in tests: console-receiver.py takes the pty master berth sends and
// relays it (what it reads comes out on its stdout).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot, uniqueId } from './fixtures.js';

/** A receiver on a fresh socket in DIR; resolves once it listens. OUTPUT resolves when it exits. */
export async function consoleReceiver(dir: string): Promise<{ socket: string; output: Promise<string> }> {
  const socket = join(dir, `console-${uniqueId('c')}.sock`);
  const child = spawn('python3', [join(projectRoot, 'test', 'helpers', 'console-receiver.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise<void>((r) => child.stdout.on('data', () => out.includes('listening') && r()));
  return { socket, output: new Promise((r) => child.on('exit', () => r(out))) };
}
