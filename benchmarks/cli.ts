// The CLI, side by side with the anchors' CLIs: each of create, start, state, kill and delete timed
// on its own (interleaved with the other tools' same operation), `run` of busybox `true`, P parallel
// `run`s, the server's memory once quiet after them, and what the first call costs when it has to
// start berth's server. cli is cli/berth as it
// is (through its server once there is one: the label says which path was measured); nosrv is the
// in-process path (BERTH_NO_SERVER=1, the same as --no-server).
//
//   node build/benchmarks/cli.js [--runs N] [--rounds R] [--parallel P] [--batch B] [--only cli,nosrv,runc,crun]
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, makeRootfs, serverPid, stopServer } from '../test/helpers/fixtures.js';
import { anchorVersion, berthPath, cleanup, cli, interleave, median, numberArg, onlyArg, printLegend, printMeasure, rate, sleep, targetText, timed } from './common.js';
import { prepareCrun } from './crun.js';

const runs = numberArg('runs', 20);
const rounds = numberArg('rounds', 5);
const parallel = numberArg('parallel', 16);
const batch = numberArg('batch', parallel * 2);
const only = onlyArg(['cli', 'nosrv', 'runc', 'crun']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-cli-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['true'], anchorVersion);
const sleeper = makeBundle(join(dir, 'sleeper'), rootfs, ['sleep', '3600'], anchorVersion);
// `first` is cli/berth's too, with a server of its own that each round stops.
const roots: Record<string, string> = Object.fromEntries([...only, 'first'].map((t) => [t, join(dir, t)]));
for (const r of Object.values(roots)) mkdirSync(r);

const call = (t: string, args: string[], detached = false) => cli(t === 'first' ? 'cli' : t, roots[t]!, args, detached);
const run = (t: string, id: string) => call(t, ['run', '--bundle', bundle, id]);
const status = async (t: string, id: string) => JSON.parse(await call(t, ['state', id])).status as string;

/** Each operation on a busybox sleeper, in the order a container goes through them. */
const ops: Record<string, (t: string, id: string) => Promise<unknown>> = {
  create: (t, id) => call(t, ['create', '--bundle', sleeper, id], true), // the container keeps create's stdio
  start: (t, id) => call(t, ['start', id]),
  state: async (t, id) => {
    if ((await status(t, id)) !== 'running') throw new Error(`${t} state ${id}: not running`);
  },
  kill: (t, id) => call(t, ['kill', id, 'KILL']),
  delete: (t, id) => call(t, ['delete', id]),
};

/** Until T's container ID is stopped (after kill; not timed: when a process is seen gone differs by runtime). */
async function stopped(t: string, id: string) {
  for (let i = 0; i < 500; i++) {
    if ((await status(t, id)) === 'stopped') return;
    await sleep(10);
  }
  throw new Error(`${t}: ${id} still not stopped`);
}

async function main() {
  for (const t of only) await run(t, `warm-${t}`); // the first call loads what later ones reuse (and starts berth's server)
  printLegend(only, roots.cli && berthPath(roots.cli));

  console.log(`# per operation on busybox sleep: median of ${runs} interleaved rounds, each operation timed on its own`);
  for (const [op, fn] of Object.entries(ops)) {
    if (op === 'delete') for (const t of only) for (let r = 0; r < runs; r++) await stopped(t, `op-${t}-${r}`);
    printMeasure(op, 'ms/call', await interleave(runs, only, (t, r) => timed(() => fn(t, `op-${t}-${r}`))), { cli: { of: 'runc', max: 1 } });
  }

  console.log(`# run of busybox true: median of ${runs} interleaved rounds`);
  printMeasure('run', 'ms/call', await interleave(runs, only, (t, r) => timed(() => run(t, `run-${t}-${r}`))), { cli: { of: 'crun', max: 1 } });

  const par = only.filter((t) => t !== 'nosrv');
  console.log(`# ${parallel} parallel runs of busybox true: median of ${rounds} interleaved rounds of ${batch} runs`);
  printMeasure(`parallel${parallel}`, 'containers/s', await interleave(rounds, par, (t, r) => rate(batch, parallel, (i) => run(t, `par-${t}-${r}-${i}`).then(() => {}))), { cli: { of: 'crun', min: 1 } });

  if (only.includes('cli')) await idleServer();
  await firstCall();
}

/** Quiet this long, the server has given back what it can (V8's memory reducer, its malloc trim at 20 s). */
const QUIET_MS = 25_000;

/** The RSS of the server of cli's root, quiet for QUIET_MS after the runs above. */
async function idleServer() {
  const pid = serverPid(roots.cli!);
  if (pid === null) return;
  await sleep(QUIET_MS);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  const mb = (kb * 1024) / 1e6;
  console.log(`# the server of the runs above, quiet for ${QUIET_MS / 1000} s`);
  console.log(`idle       cli   ${mb.toFixed(1).padStart(7)} MB RSS       ${(kb / 1024).toFixed(1)} MiB ${targetText(mb, { of: '', max: 60 }, ' MB')}`);
}

/** A run that has to start the server (stopped just before) against a warm one, in turn each round. */
async function firstCall() {
  await run('first', 'first-warm');
  if (serverPid(roots.first!) === null) {
    console.log(`first      cli   no server started (cli/berth is ${berthPath(roots.first!)}): every call is a first call, see run's lines`);
    return;
  }
  const cold: number[] = [];
  const warm: number[] = [];
  for (let r = 0; r < runs; r++) {
    stopServer(roots.first!);
    cold.push(await timed(() => run('first', `cold-${r}`)));
    warm.push(await timed(() => run('first', `warm-${r}`)));
  }
  const [c, w] = [median(cold), median(warm)];
  console.log(`# a run that starts the server (stopped before it) against the warm run after it: median of ${runs} rounds`);
  console.log(`first      cli   ${c.toFixed(1).padStart(7)} ms/call       a server start: ${(c / w).toFixed(2)}× a warm run's ${w.toFixed(1)} ms, +${(c - w).toFixed(1)} ms`);
}

const restoreCrun = only.includes('crun') ? await prepareCrun(bundle, roots.crun!) : () => {};
try {
  await main();
} finally {
  restoreCrun();
  await cleanup(dir, roots);
}
