// What the tests' private containerds leave to clean up.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { waitUntil } from './wait.js';

/** The runc shims a containerd at SOCKET started: found by the address they were given, to be stopped by pid. */
export function shimsOf(socket: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(socket);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/**
 * Stop the private containerd DAEMON at SOCKET: its containers (through CTR, the test's ctr in its
 * namespace), its shims, then itself — all by pid.
 */
export function stopContainerd(daemon: ChildProcess | null, socket: string, ctr: (args: string[]) => { stdout: string }): void {
  for (const c of ctr(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
    ctr(['tasks', 'kill', '-s', 'KILL', c]);
    ctr(['tasks', 'delete', '--force', c]);
    ctr(['containers', 'rm', c]);
  }
  for (const pid of shimsOf(socket)) process.kill(pid, 'SIGKILL');
  if (!daemon?.pid) return;
  process.kill(daemon.pid, 'SIGTERM');
  if (!waitUntil(() => daemon.exitCode !== null || daemon.signalCode !== null, 10_000)) process.kill(daemon.pid, 'SIGKILL');
}

/**
 * containerd 1.6's runc shims keep their sockets, and ctr its fifos, under /run/containerd whatever
 * the config says. Call before the test; the function it returns removes the folder if the test made it.
 */
export function runContainerdCleanup(): () => void {
  const made = !existsSync('/run/containerd');
  // Killed shims leave their sockets in it: removed whole, since nothing was there before.
  return () => made && rmSync('/run/containerd', { recursive: true, force: true });
}
