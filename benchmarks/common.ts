// What the benchmarks share: their command-line options, the anchors' spec version, running a tool
// to its exit, the berth server of a state root, interleaved rounds, medians, and the printed lines
// (labelled, with ratios against the anchors and targets).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { berthBin, serverPid, stopServer } from '../test/helpers/fixtures.js';

/** The word after --NAME on the command line, if it is there. */
export function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** The number after --NAME on the command line, else DFLT. */
export function numberArg(name: string, dflt: number): number {
  const v = stringArg(name);
  return v === undefined ? dflt : Number(v);
}

/** The numbers after --NAME, comma-separated, else DFLT. */
export function numbersArg(name: string, dflt: number[]): number[] {
  return stringArg(name)?.split(',').map(Number) ?? dflt;
}

/** The tools --only names (comma-separated), else ALL. */
export function onlyArg(all: string[]): string[] {
  return stringArg('only')?.split(',').filter((t) => all.includes(t)) ?? all;
}

/** Where TOOL is on PATH ('' when it is not). */
export const which = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();

/** runc 1.1 and crun 1.8 know runtime-spec versions up to 1.0.x only: every tool gets the same config with this one. */
export const anchorVersion = (c: { ociVersion: string }) => (c.ociVersion = '1.0.2');

/**
 * Run CMD to its exit and return its output; rejects with its error output on a non-zero status.
 * A command that leaves a container running gets /dev/null for stdout and stderr (DETACHED): the
 * container inherits them and would hold a pipe open — and CRIU cannot dump a pipe of the host's.
 */
export function runTool(cmd: string, args: string[], detached = false, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const io = detached ? 'ignore' : 'pipe';
    const p = spawn(cmd, args, { stdio: ['ignore', io, io], env: { ...process.env, NODE_EXTRA_CA_CERTS: '', ...env } });
    let out = '';
    let err = '';
    p.stdout?.on('data', (d) => (out += d));
    p.stderr?.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
}

// ---- cli/berth and its server

/**
 * The environment of berth's CLI calls. A server exits after about a minute idle: a slow stretch of
 * the other tools' turns could then make a "warm" berth call pay a server start. 10 minutes keeps
 * one server per root for the whole run (cleanup stops it).
 */
export const berthEnv = { BERTH_SERVER_IDLE: '600' };
/** The in-process path (a CLI from before the server ignores the variable, and is that path anyway). */
export const noServerEnv = { BERTH_NO_SERVER: '1' };

/** What a berth CLI call under ROOT went through, for the labels: known only after a call. */
export const berthPath = (root: string) => (serverPid(root) === null ? 'in-process: a Node start per call' : 'through the berth server');

/** cli/berth as built here, or another build's (BERTH_BENCH_CLI=its cli/berth) to compare builds. */
export const berthCli = process.env.BERTH_BENCH_CLI ?? berthBin;

/** How each CLI tool is called: its binary, and for berth the path (through its server or in-process). */
const clis: Record<string, { cmd: string; env: NodeJS.ProcessEnv }> = {
  cli: { cmd: berthCli, env: berthEnv },
  nosrv: { cmd: berthCli, env: noServerEnv },
  runc: { cmd: 'runc', env: {} },
  crun: { cmd: 'crun', env: {} },
};

/** Call CLI tool TOOL (cli, nosrv, runc, crun) with state root ROOT; see runTool for DETACHED. */
export const cli = (tool: string, root: string, args: string[], detached = false) => runTool(clis[tool]!.cmd, ['--root', root, ...args], detached, clis[tool]!.env);

/**
 * Remove what a run left under DIR even when it failed: every container in each state root of ROOTS
 * (tool → root; berth's through the in-process path, so no server starts for it), berth's servers,
 * then DIR.
 */
export async function cleanup(dir: string, roots: Record<string, string>): Promise<void> {
  for (const [tool, root] of Object.entries(roots)) {
    if (!existsSync(root)) continue;
    const anchor = tool === 'runc' || tool === 'crun';
    for (const id of readdirSync(root).filter((d) => !d.startsWith('@'))) // berth's own: its server, its spare folders
      await cli(anchor ? tool : 'nosrv', root, ['delete', '--force', id]).catch((e: Error) => console.error(`cleanup: ${e.message}`));
    if (!anchor) stopServer(root);
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---- measuring

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Milliseconds FN takes. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * ROUNDS rounds, each running every tool's STEP once (its result: a time or a rate), the order
 * rotated each round so no tool is always the one after a pause or after a given other: a change in
 * the machine's load hits all alike. Returns each tool's median.
 */
export async function interleave(rounds: number, tools: string[], step: (tool: string, round: number) => Promise<number>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t, []]));
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < tools.length; k++) {
      const t = tools[(r + k) % tools.length]!;
      samples[t]!.push(await step(t, r));
    }
  return Object.fromEntries(tools.map((t) => [t, median(samples[t]!)]));
}

/** Containers per second: RUN called TOTAL times with PARALLEL in flight. */
export async function rate(total: number, parallel: number, run: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const ms = await timed(() => Promise.all(Array.from({ length: parallel }, async () => {
    while (next < total) await run(next++);
  })));
  return total / (ms / 1000);
}

// ---- printing

/** The labels every benchmark's lines use, printed once at the top: what kind of path each figure is. */
export function printLegend(tools: string[], cliPath?: string): void {
  const berth = berthCli === berthBin ? 'cli/berth' : berthCli;
  const what: Record<string, string> = {
    api: "berth's Runtime API, warm, inside this benchmark's process (no process start per call), on its default host (an operation alone on this thread, the ones beside it on the worker pool)",
    cli: `${berth}, one process per call (${cliPath ?? 'as built'}): the like-for-like line beside the anchors`,
    nosrv: `${berth} with BERTH_NO_SERVER=1 (= --no-server): the in-process path, a Node start per call`,
    runc: `the anchor runc (${version('runc')}), one CLI process per call`,
    crun: `the anchor crun (${version('crun')}), one CLI process per call`,
  };
  for (const t of tools) if (what[t]) console.log(`# ${t.padEnd(5)} = ${what[t]}`);
  console.log(`# ${cpus().length} CPUs; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
}

const version = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0]?.replace(/ version/, '') ?? '?';

/** A target: berth's ratio against tool OF (or a value), at most MAX (a time) or at least MIN (a throughput). */
export interface Target {
  of: string;
  max?: number;
  min?: number;
}

export const verdict = (ratio: number, t: Target) => ((t.max !== undefined ? ratio <= t.max : ratio >= t.min!) ? 'met' : 'not met');
export const targetText = (ratio: number, t: Target, unit = `× ${t.of}'s`) => `(target ${t.max !== undefined ? `≤ ${t.max}` : `≥ ${t.min}`}${unit}: ${verdict(ratio, t)})`;

/**
 * One line per tool for the measure WHAT: its value (a time, or a throughput when UNIT ends in /s),
 * its ratio against each anchor, and the verdict on its TARGETS (tool → target or targets).
 */
export function printMeasure(what: string, unit: string, values: Record<string, number>, targets: Record<string, Target | Target[]> = {}): void {
  const kind = unit.endsWith('/s') ? 'throughput' : 'time';
  for (const [t, v] of Object.entries(values)) {
    const ratios = ['runc', 'crun'].filter((o) => o !== t && values[o] !== undefined).map((o) => `${(v / values[o]!).toFixed(2)}× ${o}'s ${kind}`);
    const verdicts = [targets[t] ?? []].flat().filter((g) => values[g.of] !== undefined).map((g) => ` ${targetText(v / values[g.of]!, g)}`);
    console.log(`${what.padEnd(10)} ${t.padEnd(5)} ${v.toFixed(1).padStart(7)} ${unit.padEnd(13)} ${ratios.join(', ')}${verdicts.join('')}`.trimEnd());
  }
}
