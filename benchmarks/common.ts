// What the benchmarks share: their command-line options, the anchors' spec version, running a tool
// to its exit, medians.
import { spawn } from 'node:child_process';

/** The number after --NAME on the command line, else DFLT. */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

/** The tools --only names (comma-separated), else ALL. */
export function onlyArg(all: string[]): string[] {
  const i = process.argv.indexOf('--only');
  return i > 0 ? process.argv[i + 1]!.split(',') : all;
}

/** runc 1.1 and crun 1.8 know runtime-spec versions up to 1.0.x only: every tool gets the same config with this one. */
export const anchorVersion = (c: { ociVersion: string }) => (c.ociVersion = '1.0.2');

/**
 * Run CMD to its exit; rejects with its error output on a non-zero status. A command that leaves a
 * container running gets /dev/null for stderr too (DETACHED): the container inherits it and would
 * hold a pipe open — and CRIU cannot dump a pipe of the host's.
 */
export function runTool(cmd: string, args: string[], detached = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', detached ? 'ignore' : 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
    let err = '';
    p.stderr?.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
