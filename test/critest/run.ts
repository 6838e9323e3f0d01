// npm run critest: Kubernetes' CRI validation suite (cri-tools' critest, a binary built elsewhere:
// CRITEST=/path/to/critest) against a private containerd, offline (environment.ts), once per
// runtime — runc, crun, berth — one after the other in the same environment. Prints a line per
// runtime (passed / failed / skipped) and a table of every spec that is not a pass for all of them;
// the JUnit reports, critest's output, the table and containerd's log go to a results folder, named
// at the end. Options: --only runc,berth  --focus REGEX (ginkgo's)  --results DIR. Needs root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { anchorVersion, onlyArg, stringArg, which } from '../../benchmarks/common.js';
import { prepareCrun } from '../../benchmarks/crun.js';
import { berthBin, isRoot, makeBundle, makeRootfs } from '../helpers/fixtures.js';
import { startEnvironment, type Environment } from './environment.js';

type Status = 'pass' | 'FAIL' | 'skip';


/** Every [It] spec of a JUnit report and how it ended. */
export function specsOf(junit: string): Map<string, Status> {
  const unescape = (s: string) => s.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const specs = new Map<string, Status>();
  for (const m of junit.matchAll(/<testcase name="([^"]*)"[^>]*status="([a-z]+)"/g)) {
    const name = unescape(m[1]!);
    if (name.startsWith('[It] ')) specs.set(name.slice(5), m[2] === 'passed' ? 'pass' : m[2] === 'skipped' ? 'skip' : 'FAIL');
  }
  return specs;
}

/** One critest run against HANDLER in ENV: its output to OUT.log, its JUnit report to OUT.xml. */
function critest(critestBin: string, env: Environment, handler: string, results: string, focus: string | undefined, running: { child: ChildProcess | null }): Promise<number | null> {
  const log = join(results, `${handler}.log`);
  const args = [`--net=${env.netns}`, critestBin, '--runtime-endpoint', `unix://${env.socket}`, '--image-endpoint', `unix://${env.socket}`, '--runtime-handler', handler, '--config', '/dev/null',
    '-ginkgo.seed', '1', '-ginkgo.flake-attempts', '1', '-ginkgo.no-color', '-ginkgo.junit-report', join(results, `${handler}.xml`), ...(focus ? ['-ginkgo.focus', focus] : [])];
  return new Promise((done) => {
    const out: Buffer[] = [];
    // In the node's network namespace (streaming, host network and port forwarding are reached in it), from the temp folder.
    const child = spawn('nsenter', args, { cwd: env.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    running.child = child;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('close', (code) => {
      running.child = null;
      writeFileSync(log, Buffer.concat(out));
      done(code);
    });
  });
}

function table(names: string[], results: Map<string, Map<string, Status>>, hideSkipped: boolean): string[] {
  const specs = [...new Set([...results.values()].flatMap((r) => [...r.keys()]))].sort((a, b) => a.localeCompare(b));
  const rows = specs.filter((s) => names.some((n) => results.get(n)?.get(s) !== 'pass') && !(hideSkipped && names.every((n) => results.get(n)?.get(s) === 'skip')));
  const width = Math.max(...names.map((n) => n.length), 4);
  return [
    `| ${names.map((n) => n.padEnd(width)).join(' | ')} | spec`,
    `|${names.map(() => '-'.repeat(width + 2)).join('|')}|------`,
    ...rows.map((s) => `| ${names.map((n) => (results.get(n)?.get(s) ?? '-').padEnd(width)).join(' | ')} | ${s}`),
  ];
}

async function main(): Promise<number> {
  const critestBin = process.env.CRITEST;
  if (!isRoot) return (console.log('critest: needs root (containerd, network namespaces, cgroups)'), 2);
  if (!critestBin || !existsSync(critestBin)) return (console.log('critest: set CRITEST=/path/to/critest (cri-tools v1.26.1, built offline: see README, "Conformance: Kubernetes CRI")'), 2);
  for (const tool of ['containerd', 'ctr', 'nsenter', 'unshare', 'gcc', 'apt-get', 'dpkg-deb']) if (!which(tool)) return (console.log(`critest: ${tool} is not installed`), 2);
  const all: Record<string, string> = { runc: which('runc'), crun: which('crun'), berth: berthBin };
  const only = onlyArg(Object.keys(all));
  const missing = only.filter((r) => !all[r]);
  if (missing.length) return (console.log(`critest: not installed: ${missing.join(', ')}`), 2);
  const runtimes = Object.fromEntries(only.map((r) => [r, all[r]!]));
  const results = stringArg('results') ? resolve(stringArg('results')!) : mkdtempSync(join(tmpdir(), 'berth-critest-results-'));
  mkdirSync(results, { recursive: true });
  const version = spawnSync(critestBin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.trim(); // a go test binary: then PASS
  console.log(`# ${version}, containerd ${spawnSync('containerd', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ')[2]}, offline; results in ${results}`);

  const running: { child: ChildProcess | null } = { child: null };
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted = true;
      running.child?.kill('SIGTERM');
    });
  }
  const env = startEnvironment(runtimes, results);
  let restoreCrun = () => {};
  const outcome = new Map<string, Map<string, Status>>();
  try {
    // crun last: its hugetlb set-up (prepareCrun), once undone, leaves a v1 hierarchy that lingers
    // unmounted a while, and the shim reads no container stats then, whatever the runtime.
    for (const handler of ['runc', 'berth', 'crun'].filter((r) => r in runtimes)) {
      if (interrupted) break;
      if (handler === 'crun') {
        const probe = makeBundle(join(env.dir, 'crun-probe'), makeRootfs(join(env.dir, 'probe-rootfs')), ['true'], anchorVersion);
        restoreCrun = await prepareCrun(probe, join(env.dir, 'crun-probe-root'), env.dir);
      }
      const started = Date.now();
      const code = await critest(critestBin, env, handler, results, stringArg('focus'), running);
      const xml = join(results, `${handler}.xml`);
      const specs = existsSync(xml) ? specsOf(readFileSync(xml, 'utf8')) : new Map<string, Status>();
      outcome.set(handler, specs);
      const count = (s: Status) => [...specs.values()].filter((v) => v === s).length;
      console.log(`${handler.padEnd(5)}  ${count('pass')} passed, ${count('FAIL')} failed, ${count('skip')} skipped  (${((Date.now() - started) / 1000).toFixed(0)} s, critest exit ${code}${specs.size ? '' : ', no JUnit report'})`);
    }
  } finally {
    // containerd and the containers stop first: the k8s.io cgroups in crun's hugetlb hierarchy go before it is unmounted.
    for (const line of env.stop()) console.log(`# cleanup: ${line}`);
    restoreCrun();
  }
  const names = ['runc', 'crun', 'berth'].filter((r) => outcome.has(r));
  // A focused run: the specs it left out (skipped by every runtime) are not listed.
  const focused = stringArg('focus') !== undefined;
  const lines = table(names, outcome, focused);
  console.log(lines.join('\n'));
  writeFileSync(join(results, 'summary.md'), `# ${version}\n\n${lines.join('\n')}\n`);
  console.log(`# JUnit reports and logs: ${results}`);
  return interrupted ? 130 : 0;
}

process.exitCode = await main();
