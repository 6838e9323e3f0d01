// ps and events through cli/berth on real containers: ps's pids and table, stats equal to the
// cgroup files (v1 and v2), and an OOM event from a container over its memory limit.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../native/spec/config.js';
import { cgroupFacts } from '../native/cgroups/apply.js';
import { hostLayout } from '../native/cgroups/layout.js';
import { listNumbers } from '../native/cgroups/stats.js';
import { berth, berthBin, isRoot, makeBundle, ok, uniqueId, workspace } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('ps and events');
const { dir, root, rootfs } = workspace(test);

function running(args: string[], patch?: (c: Config) => void, version: 1 | 2 = 1): string {
  const id = uniqueId('ps-events');
  ok(berth(root, ['--cgroup-version', String(version), 'run', '-d', '-b', makeBundle(join(dir, id), rootfs, args, patch), id]), 'run -d');
  return id;
}

const file = (hierarchy: string, id: string, name: string) => readFileSync(`/sys/fs/cgroup/${hierarchy}/berth-${id}/${name}`, 'utf8').trim();
const procs = (id: string) => file('pids', id, 'cgroup.procs').split('\n').map(Number).sort((a, b) => a - b);

test('ps: the pids as JSON; the host ps table cut to the container, with ps arguments', () => {
  const id = running(['sh', '-c', 'sleep 60 & sleep 60 & wait']);
  assert.ok(waitUntil(() => procs(id).length === 3));
  assert.equal(JSON.parse(ok(berth(root, ['ps', '-f', 'json', id]), 'ps json')), procs(id));
  const table = ok(berth(root, ['ps', id]), 'ps').trimEnd().split('\n');
  assert.match(table[0]!, /^UID\s+PID\s+PPID/);
  assert.equal(table.slice(1).map((l) => Number(l.trim().split(/\s+/)[1])).sort((a, b) => a - b), procs(id));
  const custom = ok(berth(root, ['ps', id, '--', '-o', 'pid,comm']), 'ps -- -o').trimEnd().split('\n');
  assert.match(custom[0]!, /^\s*PID COMMAND$/);
  assert.equal(custom.slice(1).map((l) => l.trim().split(/\s+/)[1]).sort(), ['sh', 'sleep', 'sleep']);
  assert.is(ok(berth(root, ['ps', id, '-o', 'pid']), 'ps -o, as runc takes it').trimEnd().split('\n').length, 4);
  assert.is(berth(root, ['ps', '-f', 'yaml', id]).stderr, 'invalid format option "yaml": table or json\n');
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

test('events --stats: one line whose values are the cgroup files’ (v1)', () => {
  const id = running(['sleep', '60'], (c) => (c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 30 } }));
  const lines = ok(berth(root, ['events', '--stats', id]), 'events --stats').trimEnd().split('\n');
  assert.is(lines.length, 1);
  const e = JSON.parse(lines[0]!);
  assert.is(e.type, 'stats');
  assert.is(e.id, id);
  const { cpu, memory, pids, blkio } = e.data;
  // an idle sleep: these do not move between the two reads
  assert.is(cpu.usage.total, Number(file('cpuacct', id, 'cpuacct.usage')));
  assert.equal(cpu.usage.percpu, file('cpuacct', id, 'cpuacct.usage_percpu').split(' ').map(Number));
  assert.is(cpu.usage.user, Number(/^user (\d+)$/m.exec(file('cpuacct', id, 'cpuacct.stat'))![1]) * 1e7);
  assert.is(cpu.throttling.periods, Number(/^nr_periods (\d+)$/m.exec(file('cpu', id, 'cpu.stat'))![1]));
  assert.is(memory.usage.limit, 64 << 20);
  assert.is(memory.usage.limit, Number(file('memory', id, 'memory.limit_in_bytes')));
  assert.is(memory.usage.failcnt, Number(file('memory', id, 'memory.failcnt')));
  assert.is(memory.raw.total_rss, Number(/^total_rss (\d+)$/m.exec(file('memory', id, 'memory.stat'))![1]));
  assert.equal(pids, { current: 1, limit: 30 });
  assert.ok(Array.isArray(blkio.ioServiceBytesRecursive));
  // the cpuset's lists expanded, its flags by runc's names
  assert.equal([e.data.cpuset.cpus, e.data.cpuset.mems], [listNumbers(file('cpuset', id, 'cpuset.cpus')), listNumbers(file('cpuset', id, 'cpuset.mems'))]);
  assert.is(e.data.cpuset.sched_load_balance, Number(file('cpuset', id, 'cpuset.sched_load_balance')));
  // hugetlb only where a v1 hierarchy has it (a benchmark's crun set-up mounts one for a while):
  // then every page size, none of it used by a sleep
  const layout = hostLayout(1);
  const hugetlb = layout.v1.some((h) => h.controllers.includes('hugetlb'));
  const unused = { usage: 0, max: 0, failcnt: 0 };
  assert.equal(e.data.hugetlb, hugetlb ? Object.fromEntries(cgroupFacts(layout).hugepageSizes.map((size) => [size, unused])) : {});
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

test('events --stats on cgroup v2 reads cpu.stat; a stopped container is refused', () => {
  const id = running(['sleep', '60'], undefined, 2);
  const { data } = JSON.parse(ok(berth(root, ['events', '--stats', id]), 'events --stats'));
  const cpuStat = readFileSync(`/sys/fs/cgroup/unified/berth-${id}/cpu.stat`, 'utf8');
  assert.is(data.cpu.usage.total, Number(/^usage_usec (\d+)$/m.exec(cpuStat)![1]) * 1000);
  assert.is(data.cpu.usage.kernel, Number(/^system_usec (\d+)$/m.exec(cpuStat)![1]) * 1000);
  // pressure stall information, as runc reports it on cgroup2
  for (const psi of [data.cpu.psi, data.memory.psi, data.blkio.psi]) assert.ok(typeof psi?.some?.total === 'number' && typeof psi.some.avg10 === 'number', JSON.stringify(psi));
  const effective = `/sys/fs/cgroup/unified/berth-${id}/cpuset.cpus.effective`; // only where cpuset is on cgroup2 (not on this hybrid host)
  assert.equal(data.cpuset.cpus, existsSync(effective) ? listNumbers(readFileSync(effective, 'utf8').trim()) : undefined);
  ok(berth(root, ['kill', id, 'KILL']), 'kill');
  assert.ok(waitUntil(() => JSON.parse(ok(berth(root, ['state', id]), 'state')).status === 'stopped'));
  const r = berth(root, ['events', '--stats', id]);
  assert.is(r.status, 1);
  assert.is(r.stderr, `container with id ${id} is not running\n`);
  ok(berth(root, ['delete', id]), 'delete');
});

/** berth events in the background; resolves with its output and exit status when it ends. */
function events(args: string[]) {
  const child = spawn(berthBin, ['--root', root, 'events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise<{ status: number | null; lines: { type: string; id: string; data?: unknown }[]; stderr: string }>((r) =>
    child.on('exit', (status) => r({ status, lines: out.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: err })),
  );
}

test('events: stats every interval, an oom event when the kernel OOM-kills inside, the end when the container stops', async () => {
  const script = 'sleep 1; dd if=/dev/zero of=/dev/shm/x bs=1M count=64; sleep 1';
  const id = running(['sh', '-c', script], (c) => (c.linux.resources = { ...c.linux.resources, memory: { limit: 16 << 20, swap: 16 << 20 } }));
  const { status, lines, stderr } = await events(['--interval', '300ms', id]);
  assert.is(status, 0, stderr);
  assert.equal(
    lines.filter((l) => l.type === 'oom'),
    [{ type: 'oom', id }],
  );
  assert.ok(lines.filter((l) => l.type === 'stats').length >= 3, `stats every 300 ms for about 2 s: ${lines.length} lines`);
  assert.match(file('memory', id, 'memory.oom_control'), /^oom_kill 1$/m);
  ok(berth(root, ['delete', id]), 'delete');
  const bad = berth(root, ['events', '--interval', '0s', id]);
  assert.is(bad.stderr, 'duration interval must be greater than 0\n');
});

if (isRoot) test.run();
else console.log('ps and events: skipped (needs root)');
