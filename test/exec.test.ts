// exec and terminals: new processes in running containers, through the CLI and the API, and
// ptys handed to a console socket or proxied to berth's own terminal.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../actors/runtime.js';
import type { Config } from '../native/spec/config.js';
import { berth, berthBin, isRoot, makeBundle, ok, rejects, uniqueId, workspace } from './helpers/fixtures.js';
import { consoleReceiver } from './helpers/console.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('exec and terminals');
const { dir, root, rootfs } = workspace(test, () => rt.close());
const rt = new Runtime({ root });

/** A running container (sleep), for the tests to exec into. */
function running(patch?: (c: Config) => void): string {
  const id = uniqueId('exec');
  ok(berth(root, ['run', '-d', '--bundle', makeBundle(join(dir, id), rootfs, ['sleep', '60'], patch), id]), 'run -d');
  return id;
}

const statusLine = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}:`))?.split(/\s+/)[1];

test('exec joins the container: its pid namespace, hostname, root, cgroup and capabilities', () => {
  const id = running((c) => (c.hostname = 'exec-box'));
  const initPid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid;
  const out = ok(berth(root, ['exec', id, 'sh', '-c', 'echo $$; hostname; ls /; cat /proc/self/status']), 'exec');
  const [pid, hostname, ...rest] = out.split('\n');
  assert.ok(Number(pid) > 1 && Number(pid) < 20, `a small pid of the container's namespace: ${pid}`);
  assert.is(hostname, 'exec-box');
  assert.equal(rest.slice(0, 7), ['bin', 'dev', 'etc', 'proc', 'root', 'sys', 'tmp']);
  const container = readFileSync(`/proc/${initPid}/status`, 'utf8');
  for (const set of ['CapBnd', 'CapEff', 'CapPrm']) assert.is(statusLine(out, set), statusLine(container, set), set);
  // the exec'd process sits in the container's cgroup while it runs
  const bg = ok(berth(root, ['exec', '-d', id, 'sleep', '5']), 'exec -d');
  assert.is(bg, '');
  const procs = readFileSync(`/sys/fs/cgroup/pids/berth-${id}/cgroup.procs`, 'utf8').trim().split('\n');
  assert.is(procs.length, 2, `the container and the exec'd sleep: ${procs}`);
});

test('two execs, two new pids; exit statuses; flags for env, cwd, user', () => {
  const id = running();
  const a = ok(berth(root, ['exec', id, 'sh', '-c', 'echo $$']), 'exec');
  const b = ok(berth(root, ['exec', id, 'sh', '-c', 'echo $$']), 'exec');
  assert.is.not(a, b);
  assert.is(berth(root, ['exec', id, 'sh', '-c', 'exit 9']).status, 9);
  const out = ok(berth(root, ['exec', '-e', 'A=1', '--cwd', '/tmp', '-u', '1000:1001', '-g', '7', id, 'sh', '-c', 'echo $A; pwd; id -u; id -g; id -G']), 'exec');
  assert.is(out, '1\n/tmp\n1000\n1001\n1001 7\n');
});

test("an exec'd process gets no fd of berth's and no cwd outside the container (runc's CVE-2024-21626 class)", () => {
  const id = running();
  // Through the server and in a process of its own: neither may hand over what it holds.
  for (const flags of [[], ['--no-server']]) {
    const out = ok(berth(root, [...flags, 'exec', id, 'sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; readlink /proc/self/cwd']), 'exec');
    assert.is(out, '0 1 2 3 /\n', `stdio (the caller's), the fd ls reads the folder with, and / (${flags.join(' ') || 'server'})`);
  }
});

test('exec --process with a process JSON; an invalid one names the path', () => {
  const id = running();
  const file = join(dir, `${id}-process.json`);
  writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo from-json'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] }));
  assert.is(ok(berth(root, ['exec', '--process', file, id]), 'exec -p'), 'from-json\n');
  writeFileSync(file, JSON.stringify({ args: [], cwd: '/', user: { uid: 0, gid: 0 } }));
  const bad = berth(root, ['exec', '-p', file, id]);
  assert.is(bad.status, 1);
  assert.is(bad.stderr, 'process.args: must name a program\n');
});

test("process.execCPUAffinity: an exec'd process runs on its final CPUs; without them, on the cgroup's, not berth's", () => {
  const id = running();
  const cpus = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const last = cpus.split(/[-,]/).at(-1)!;
  const allowed = (affinity: object) => {
    const file = join(dir, `${id}-affinity.json`);
    writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'grep Cpus_allowed_list /proc/self/status | cut -f2'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'], execCPUAffinity: affinity }));
    return ok(berth(root, ['exec', '--process', file, id]), 'exec').trim();
  };
  assert.is(allowed({ initial: '0', final: last }), last);
  // Started from a process pinned to CPU 0 (berth's affinity), it gets the cgroup's CPUs back.
  const pinned = spawnSync('taskset', ['-c', '0', berthBin, '--root', root, '--no-server', 'exec', id, 'sh', '-c', 'grep Cpus_allowed_list /proc/self/status | cut -f2'], { encoding: 'utf8' });
  assert.is(pinned.stdout.trim(), '0', 'without execCPUAffinity an exec inherits, as runc\'s does');
  assert.is(allowed({ initial: '0' }), cpus, 'initial alone: after the cgroup join, the cgroup\'s CPUs');
  assert.is(ok(berth(root, ['exec', id, 'sh', '-c', 'grep Cpus_allowed_list /proc/1/status | cut -f2']), 'exec').trim(), cpus, "the container's own process is not affected");
  ok(berth(root, ['delete', '--force', id]), 'delete');
});

test('exec is refused in a stopped container, and for a program that is not there', () => {
  const id = running();
  ok(berth(root, ['kill', id, 'KILL']), 'kill');
  assert.ok(waitUntil(() => JSON.parse(berth(root, ['state', id]).stdout).status === 'stopped'));
  const r = berth(root, ['exec', id, 'true']);
  assert.is(r.status, 1);
  assert.is(r.stderr, 'cannot exec in a stopped container\n');
  const live = running();
  assert.is(berth(root, ['exec', live, 'nope']).stderr, 'exec: "nope": executable file not found in $PATH\n');
});

test('a pid file that cannot be written after the exec: the program is killed, the call fails at once', () => {
  const id = running();
  const started = Date.now();
  const r = berth(root, ['exec', '-d', '--pid-file', join(dir, 'no-such-dir', 'pid'), id, 'sleep', '1000'], { timeout: 20_000 });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /no-such-dir/);
  assert.ok(Date.now() - started < 10_000, 'no wait for the program to end');
  const procs = readFileSync(`/sys/fs/cgroup/pids/berth-${id}/cgroup.procs`, 'utf8').trim().split('\n');
  assert.ok(waitUntil(() => readFileSync(`/sys/fs/cgroup/pids/berth-${id}/cgroup.procs`, 'utf8').trim().split('\n').length === 1), `only the container's own process is left: ${procs}`);
});

test('30 concurrent execs into one container run in parallel: through the API and through 30 CLIs', async () => {
  const id = running();
  const procs = `/sys/fs/cgroup/pids/berth-${id}/cgroup.procs`;
  /** The most processes the container held at once while WORK ran (its own sleep is one). */
  async function mostAtOnce(work: Promise<unknown>): Promise<number> {
    let most = 0;
    let done = false;
    void work.finally(() => (done = true));
    while (!done) {
      most = Math.max(most, readFileSync(procs, 'utf8').trim().split('\n').length);
      await new Promise((r) => setTimeout(r, 20));
    }
    await work;
    return most;
  }
  const viaApi = Promise.all(Array.from({ length: 30 }, () => rt.exec({ id, args: ['sleep', '2'], stdio: 'ignore' })));
  const apiMost = await mostAtOnce(viaApi);
  const results = await viaApi;
  assert.ok(results.every((r) => r.exit?.exitCode === 0));
  assert.is(new Set(results.map((r) => r.pid)).size, 30);
  assert.ok(apiMost > 5, `execs through the API overlap: at most ${apiMost - 1} at once`);

  const viaCli = Promise.all(
    Array.from({ length: 30 }, () => new Promise<number | null>((r) => spawn(berthBin, ['--root', root, 'exec', id, 'sleep', '2'], { stdio: 'ignore' }).on('exit', r))),
  );
  const cliMost = await mostAtOnce(viaCli);
  assert.ok((await viaCli).every((c) => c === 0));
  assert.ok(cliMost > 2, `execs through 30 CLIs overlap (each CLI start costs CPU: more than one at once proves no lock between them): at most ${cliMost - 1} at once`);
});

test('the API: exec events and typed errors', async () => {
  const id = running();
  const events: string[] = [];
  const off = rt.on((e) => {
    if (e.id === id && (e.type === 'exec' || (e.type === 'exit' && e.exec))) events.push(e.type);
  });
  const r = await rt.exec({ id, args: ['sh', '-c', 'exit 4'], stdio: 'ignore' });
  off();
  assert.is(r.exit?.exitCode, 4);
  assert.is(r.exit?.exec, true);
  assert.equal(events, ['exec', 'exit']);
  await rejects(rt.exec({ id, args: ['true'], env: ['NOEQUALS'] }), 'invalid', 'process.env[2]: "NOEQUALS" is not KEY=VALUE');
});

test('a terminal through --console-socket: create/start and exec -t', async () => {
  const id = uniqueId('tty');
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', 'read line; echo "got $line"; tty; echo to-console > /dev/console; grep -c " /dev/console .* - devpts " /proc/self/mountinfo; sleep 60'], (c) => (c.process.terminal = true));
  const r1 = await consoleReceiver(dir);
  ok(berth(root, ['create', '--console-socket', r1.socket, '--bundle', b, id]), 'create');
  ok(berth(root, ['start', id]), 'start');
  const r2 = await consoleReceiver(dir);
  ok(berth(root, ['exec', '-t', '--console-socket', r2.socket, id, 'sh', '-c', 'read line; echo "exec got $line"; tty; grep -c " /dev/console " /proc/self/mountinfo']), 'exec -t');
  const execOut = await r2.output;
  assert.match(execOut, /^name: \/dev\/pts\/\d+$/m);
  assert.match(execOut, /exec got hello-from-receiver/);
  assert.match(execOut, /^\/dev\/pts\/\d+\r?\n1\r?$/m, "the container's /dev/console stays the container's");
  ok(berth(root, ['delete', '--force', id]), 'delete');
  const createOut = await r1.output;
  assert.match(createOut, /got hello-from-receiver\r?\n\/dev\/pts\/0\r?\nto-console\r?\n1\r?\n/, 'its /dev/console is the terminal, a bind of it');
});

test('a terminal without a console socket: refused for create, proxied for a foreground run', () => {
  const id = uniqueId('tty-none');
  const b = makeBundle(join(dir, id), rootfs, ['tty'], (c) => (c.process.terminal = true));
  const refused = berth(root, ['create', '--bundle', b, id]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /^cannot allocate a terminal without --console-socket/);
  // `script` gives berth a terminal of its own to proxy
  const r = spawnSync('script', ['-qec', `${berthBin} --root ${root} run --bundle ${b} ${id}`, '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /\/dev\/pts\/0\r*\n/); // each pty on the way turns \n into \r\n
});

if (isRoot) test.run();
else console.log('exec and terminals: skipped (needs root)');
