// A real client that knows nothing of berth: podman (with conmon) drives cli/berth as its OCI
// runtime. podman gets storage, run state and a cgroup parent of its own under a temp folder, and
// berth a state root there too (podman passes no --root: its runtime is a one-line wrapper), so
// nothing of the machine's podman or berth set-up is touched and everything is removed afterwards.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { berth, berthBin, cgroupsLeft, isRoot, makeRootfs, mountsUnder, networkNamespace, removeCgroupTree, stopServer, tempDir, testCriu } from './helpers/fixtures.js';
import { counterScript, countIn } from './helpers/counter.js';
import { sleepSync, waitUntil } from './helpers/wait.js';

const test = suite('client: podman');
const hasPodman = spawnSync('podman', ['--version']).status === 0;
const enabled = isRoot && hasPodman;
const dir = enabled ? tempDir('berth-podman-') : '';
const cgroupParent = `berth-podman-${process.pid}`;
const root = join(dir, 'berth');
const runtime = join(dir, 'berth-runtime');
// podman's defaults exceed this machine's hard limits for these two (design.md §8); and no network:
// podman's bridge would leave its netns mount and firewall rules on the host, and tests none of berth.
const runFlags = ['--ulimit', 'nproc=1000:1000', '--ulimit', 'nofile=1024:1024', '--network', 'none'];

/** podman with ARGS; in the network namespace NETNS (a path) when given. */
function podman(args: string[], input?: string, netns?: string) {
  const podmanArgs = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--network-config-dir', join(dir, 'net'), '--runtime', runtime, '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args];
  const r = spawnSync(
    netns ? 'nsenter' : 'podman',
    netns ? [`--net=${netns}`, 'podman', ...podmanArgs] : podmanArgs,
    // containers.conf: the pod's infra container gets no --ulimit of its own, so the defaults go there.
    // PATH: podman checks `criu --version` itself (at least 3.11) before it asks the runtime to checkpoint.
    { encoding: 'utf8', input, timeout: 60_000, env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), PATH: `${join(dir, 'bin')}:${process.env.PATH}` } },
  );
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

test.before(() => {
  // [engine]: podman passes --cgroups disabled only to a runtime it lists by name.
  writeFileSync(join(dir, 'containers.conf'), '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]\n[engine]\nruntime_supports_nocgroup = ["berth-runtime"]\n');
  writeFileSync(runtime, `#!/bin/sh\nexec ${berthBin} --root ${root} --criu ${testCriu()} "$@"\n`);
  chmodSync(runtime, 0o755);
  mkdirSync(join(dir, 'bin'));
  if (testCriu() !== 'criu') symlinkSync(testCriu(), join(dir, 'bin', 'criu'));
  // Started here, the server is not a child of conmon, the subreaper podman runs berth under (an
  // orphan goes to the nearest subreaper, and conmon would live on until the server exits).
  assert.is(berth(root, ['list']).status, 0);
  const rootfs = makeRootfs(join(dir, 'rootfs'));
  const tar = join(dir, 'rootfs.tar');
  spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  assert.is(podman(['import', tar, 'localhost/berth-busybox:test']).status, 0);
});

// podman makes /run/netns (a mount of its own) for the namespaces it makes (slirp4netns): undone after, if the tests made it.
const netnsMounted = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === '/run/netns');
const netnsBefore = { dir: existsSync('/run/netns'), mount: enabled && netnsMounted() };

test.after(() => {
  if (!enabled) return;
  podman(['rm', '--all', '--force']);
  podman(['rmi', '--all', '--force']);
  if (!netnsBefore.mount && netnsMounted() && readdirSync('/run/netns').length === 0) spawnSync('umount', ['/run/netns']);
  if (!netnsBefore.dir && existsSync('/run/netns') && readdirSync('/run/netns').length === 0) rmSync('/run/netns', { recursive: true });
  stopServer(root);
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  // conmon puts itself in <parent>/conmon: remove the tree, deepest first.
  for (const c of cgroupsLeft(cgroupParent)) removeCgroupTree(c);
});

test('podman run --rm: output, exit status, the container’s own hostname and pid 1', () => {
  const r = podman(['run', '--rm', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, '--hostname', 'pod', 'localhost/berth-busybox:test', 'sh', '-c', 'echo hello; hostname; echo $$; exit 3']);
  assert.is(r.status, 3, r.stderr);
  assert.is(r.stdout, 'hello\npod\n1');
});

test('podman run -d, ps, logs, inspect, stop, rm', () => {
  const run = podman(['run', '-d', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, '--name', 'ticker', 'localhost/berth-busybox:test', 'sh', '-c', 'trap "exit 0" TERM; while true; do echo tick; sleep 0.2; done']);
  assert.is(run.status, 0, run.stderr);
  spawnSync('sleep', ['0.8']);
  assert.match(podman(['ps', '--format', '{{.Names}} {{.Status}}']).stdout, /^ticker Up /m);
  assert.match(podman(['logs', 'ticker']).stdout, /^tick$/m);
  const pid = Number(podman(['inspect', 'ticker', '--format', '{{.State.Pid}}']).stdout);
  assert.ok(pid > 0 && existsSync(`/proc/${pid}`), 'inspect shows the live container process');
  const stop = podman(['stop', '-t', '5', 'ticker']);
  assert.is(stop.status, 0, stop.stderr);
  assert.match(podman(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).stdout, /^ticker Exited \(0\)/m);
  assert.is(podman(['rm', 'ticker']).status, 0);
  assert.equal(cgroupsLeft(`${cgroupParent}/libpod-${run.stdout}`), [], 'the container cgroup is gone');
});

test('podman exec runs in the container: its namespaces, its exit status', () => {
  const run = podman(['run', '-d', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, '--hostname', 'execd', 'localhost/berth-busybox:test', 'sleep', '60']);
  assert.is(run.status, 0, run.stderr);
  const exec = podman(['exec', run.stdout, 'sh', '-c', 'hostname; echo $$; exit 5']);
  assert.is(exec.status, 5, exec.stderr);
  const [hostname, pid] = exec.stdout.split('\n');
  assert.is(hostname, 'execd');
  assert.ok(Number(pid) > 1 && Number(pid) < 50, `a pid of the container's namespace: ${pid}`);
  assert.is(podman(['rm', '--force', '--time', '0', run.stdout]).status, 0);
});

test('a detached container that exits at once: its status reaches conmon, not berth', () => {
  const run = podman(['run', '-d', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, 'localhost/berth-busybox:test', 'sh', '-c', 'exit 7']);
  assert.is(run.status, 0, run.stderr);
  assert.is(podman(['wait', run.stdout]).stdout, '7');
  assert.is(podman(['rm', run.stdout]).status, 0);
});

test('podman kill reaches the container', () => {
  const run = podman(['run', '-d', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, 'localhost/berth-busybox:test', 'sleep', '60']);
  assert.is(run.status, 0, run.stderr);
  assert.is(podman(['kill', run.stdout]).status, 0);
  assert.is(podman(['wait', run.stdout]).stdout, '137');
  assert.is(podman(['rm', run.stdout]).status, 0);
});

test('podman pause and unpause freeze and thaw the container', () => {
  const run = podman(['run', '-d', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, 'localhost/berth-busybox:test', 'sh', '-c', counterScript(0.05)]);
  assert.is(run.status, 0, run.stderr);
  const pid = Number(podman(['inspect', run.stdout, '--format', '{{.State.Pid}}']).stdout);
  const count = () => countIn(pid);
  assert.ok(waitUntil(() => count() > 2), 'it counts');
  assert.is(podman(['pause', run.stdout]).status, 0);
  assert.is(podman(['inspect', run.stdout, '--format', '{{.State.Status}}']).stdout, 'paused');
  const frozen = count();
  sleepSync(300);
  assert.is(count(), frozen, 'no progress while paused');
  assert.is(podman(['unpause', run.stdout]).status, 0);
  assert.ok(waitUntil(() => count() > frozen), 'it counts again');
  assert.is(podman(['rm', '--force', '--time', '0', run.stdout]).status, 0);
});

test('podman exec -t: a terminal through the console socket', () => {
  const run = podman(['run', '-d', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, 'localhost/berth-busybox:test', 'sleep', '60']);
  assert.is(run.status, 0, run.stderr);
  const exec = podman(['exec', '-t', run.stdout, 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-a-tty']);
  assert.is(exec.status, 0, exec.stderr);
  assert.match(exec.stdout, /^\/dev\/pts\/\d+\r?\nstdin-is-a-tty/);
  assert.is(podman(['rm', '--force', '--time', '0', run.stdout]).status, 0);
});

test('--read-only and --tmpfs: podman\'s tmpfs mounts (tmpcopyup) over a read-only root', () => {
  const r = podman(['run', '--rm', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, '--read-only', '--tmpfs', '/etc', 'localhost/berth-busybox:test', 'sh', '-c', 'touch /x 2>/dev/null || echo root-ro; touch /tmp/y /run/y /var/tmp/y /etc/y && echo tmpfs-rw; head -1 /etc/passwd; grep -c "^tmpfs /etc " /proc/mounts']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'root-ro\ntmpfs-rw\nroot:x:0:0:root:/root:/bin/sh\n1', "the image's /etc is copied into the tmpfs over it");
});

test('--device HOST:CTR:PERMS: the node made from podman\'s fileMode (with its type bits), and the cgroup rule by the perms', () => {
  const run = (perms: string) => podman(['run', '--rm', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, '--device', `/dev/kmsg:/dev/mykmsg:${perms}`, 'localhost/berth-busybox:test', 'sh', '-c', 'ls -l /dev/mykmsg | cut -c1-10; echo berth-client-test > /dev/mykmsg && echo wrote']);
  const rw = run('rw');
  assert.is(rw.status, 0, rw.stderr);
  const hostMode = spawnSync('sh', ['-c', 'ls -l /dev/kmsg | cut -c1-10'], { encoding: 'utf8' }).stdout.trim();
  assert.is(rw.stdout, `${hostMode}\nwrote`, "the host node's mode, as podman wrote it");
  const ro = run('r');
  assert.is(ro.status, 1, ro.stderr);
  assert.match(ro.stderr, /can't create \/dev\/mykmsg: Operation not permitted/);
});

test("podman's everyday flags: --privileged, --cap-drop/--cap-add, --shm-size, --sysctl, --init, --mount, -v :O and :idmap, --cgroupns, --uidmap, --security-opt, --network host and slirp4netns, limits", () => {
  const shared = join(dir, 'flags-shared');
  const cases: [string[], string, RegExp][] = [
    // every capability berth itself may hold (this host's bounding set lacks CAP_SYS_RESOURCE), every host device
    [['--privileged'], 'grep CapEff /proc/self/status; [ -c /dev/kmsg ] && echo host-devices', new RegExp(`CapEff:\\s+${/^CapBnd:\s+(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}\\nhost-devices`)],
    [['--cap-drop', 'ALL', '--cap-add', 'NET_RAW'], 'grep CapEff /proc/self/status', /CapEff:\s+0000000000002000/],
    [['--shm-size', '16m'], 'df -k /dev/shm | tail -1', /\s16384\s/],
    [['--sysctl', 'net.ipv4.ip_forward=1'], 'cat /proc/sys/net/ipv4/ip_forward', /^1$/],
    [['--init'], 'cat /proc/1/cmdline | tr "\\000" " "', /catatonit|tini|init/],
    [['--mount', 'type=tmpfs,destination=/scratch,tmpfs-size=1m'], 'grep " /scratch " /proc/mounts', /^tmpfs \/scratch tmpfs .*size=1024k/],
    [['--cgroupns', 'private'], 'grep ":pids:" /proc/self/cgroup', /:pids:\/$/],
    [['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536'], 'cat /proc/self/uid_map', /^\s*0\s+100000\s+65536$/],
    [['--security-opt', 'no-new-privileges'], 'grep NoNewPrivs /proc/self/status', /NoNewPrivs:\s+1/],
    [['--mount', `type=bind,source=${shared},destination=/data,ro`], 'cat /data/file; touch /data/x 2>/dev/null || echo read-only', /^host\nread-only$/],
    [['-v', `${shared}:/data:O`], 'echo upper > /data/file && cat /data/file', /^upper$/],
    // :idmap: the host's root-owned file is root's in the container's user namespace too (not nobody's)
    [['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', '-v', `${shared}:/data:idmap`], 'stat -c %u:%g /data/file; stat -c %u /etc/passwd', /^0:0\n0$/],
    // No cgroup of its own (berth's --cgroup-manager disabled): the process stays in conmon's, which is podman's, which is this test's
    [['--cgroups', 'disabled'], 'grep ":pids:" /proc/self/cgroup', new RegExp(`^${/^\d+:pids:.*$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))![0]}$`)],
    // podman's slirp4netns in the network namespace podman made: the container's eth is its tap
    [['--network', 'host'], 'readlink /proc/self/ns/net', new RegExp(`^${readlinkSync('/proc/self/ns/net').replace(/[[\]]/g, '\\$&')}$`)],
    [['--network', 'slirp4netns'], 'ip -o -4 addr show tap0; ip route | grep default', /inet 10\.0\.2\.100\/24[\s\S]*default via 10\.0\.2\.2/],
    [['--pids-limit', '42', '--memory', '64m'], 'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes', /^42\n67108864$/],
  ];
  mkdirSync(shared, { recursive: true });
  writeFileSync(join(shared, 'file'), 'host\n');
  for (const [flags, script, expected] of cases) {
    const parent = flags.includes('--cgroups') ? [] : ['--cgroup-parent', `/${cgroupParent}`]; // podman: none without cgroups
    const network = flags.includes('--network') ? runFlags.filter((f, i) => f !== '--network' && runFlags[i - 1] !== '--network') : runFlags;
    const r = podman(['run', '--rm', ...network, ...parent, ...flags, 'localhost/berth-busybox:test', 'sh', '-c', script]);
    assert.is(r.status, 0, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, expected, `${flags.join(' ')}: ${r.stdout}`);
  }
  assert.is(readFileSync(join(shared, 'file'), 'utf8'), 'host\n', ':O wrote to its overlay, not to the host folder');
});

test('podman container checkpoint and restore, in place and into a new container from an export', () => {
  const script = 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done';
  const run = podman(['run', '-d', ...runFlags, '--cgroup-parent', `/${cgroupParent}`, 'localhost/berth-busybox:test', 'sh', '-c', script]);
  assert.is(run.status, 0, run.stderr);
  const id = run.stdout;
  const count = (c: string) => Number(podman(['exec', c, 'cat', '/tmp/count']).stdout);
  assert.ok(waitUntil(() => count(id) > 3), 'it counts');
  const exported = join(dir, 'checkpoint.tar.gz');
  const ck = podman(['container', 'checkpoint', '--export', exported, id]);
  assert.is(ck.status, 0, ck.stderr);
  assert.match(podman(['ps', '-a', '--format', '{{.ID}} {{.Status}}']).stdout, new RegExp(`^${id.slice(0, 12)} Exited`, 'm'));
  const restored = podman(['container', 'restore', id]);
  assert.is(restored.status, 0, restored.stderr);
  // The first exec may come before podman has settled the restored container: asked until it answers.
  let after = 0;
  assert.ok(waitUntil(() => (after = count(id)) > 3), `it goes on from where it was (${after})`);
  assert.ok(waitUntil(() => count(id) > after), 'and counts on');
  assert.is(podman(['rm', '--force', '--time', '0', id]).status, 0);
  const imported = podman(['container', 'restore', '--import', exported, '--name', 'from-export']);
  assert.is(imported.status, 0, imported.stderr);
  assert.ok(waitUntil(() => count('from-export') > 3), 'the new container goes on from the checkpoint');
  assert.is(podman(['rm', '--force', '--time', '0', 'from-export']).status, 0);
});

test("podman's bridge network, from a network namespace of the test's own (the bridge and its firewall rules stay in it): the container's address and route, its gateway, a published port", () => {
  const holder = networkNamespace();
  const netns = holder.path;
  try {
    const inside = podman(['run', '--rm', '--network', 'bridge', '--cgroup-parent', `/${cgroupParent}`, 'localhost/berth-busybox:test', 'sh', '-c', 'ip -4 -o addr show eth0; ip route | grep default; ping -c 1 -W 2 "$(ip route | awk "/default/ {print \\$3}")" >/dev/null && echo gateway'], undefined, netns);
    assert.is(inside.status, 0, inside.stderr);
    assert.match(inside.stdout, /eth0\s+inet 10\.88\.\d+\.\d+\/16[\s\S]*default via 10\.88\.0\.1 dev eth0[\s\S]*\ngateway$/);
    const web = podman(['run', '-d', '--network', 'bridge', '-p', '18080:8080', '--cgroup-parent', `/${cgroupParent}`, 'localhost/berth-busybox:test', 'sh', '-c', 'mkdir -p /www && echo served > /www/index.html && httpd -f -p 8080 -h /www'], undefined, netns);
    assert.is(web.status, 0, web.stderr);
    try {
      let page = '';
      // (busybox-static's wget crashes on this host; its nc does not resolve names)
      const get = () => spawnSync('nsenter', [`--net=${netns}`, 'busybox', 'nc', '-w', '2', '127.0.0.1', '18080'], { input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8' }).stdout;
      assert.ok(waitUntil(() => (page = get()).endsWith('\r\n\r\nserved\n')), `the published port answers: ${page}`);
    } finally {
      assert.is(podman(['rm', '--force', '--time', '0', web.stdout], undefined, netns).status, 0);
    }
  } finally {
    holder.end();
  }
});

test('podman pod: a container joins the infra container\'s uts, ipc and network namespaces by path; top and stats', () => {
  const pod = podman(['pod', 'create', '--name', 'pod1', '--infra-image', 'localhost/berth-busybox:test', '--infra-command', 'sleep 600', '--network', 'none', '--cgroup-parent', `/${cgroupParent}`]);
  assert.is(pod.status, 0, pod.stderr);
  try {
    const run = podman(['run', '-d', '--pod', 'pod1', '--name', 'member', 'localhost/berth-busybox:test', 'sleep', '60']);
    assert.is(run.status, 0, run.stderr);
    const pidOf = (c: string) => Number(podman(['inspect', c, '--format', '{{.State.Pid}}']).stdout);
    const infraPid = pidOf(podman(['pod', 'inspect', 'pod1', '--format', '{{.InfraContainerID}}']).stdout);
    const memberPid = pidOf('member');
    for (const ns of ['uts', 'ipc', 'net']) assert.is(readlinkSync(`/proc/${memberPid}/ns/${ns}`), readlinkSync(`/proc/${infraPid}/ns/${ns}`), ns);
    assert.is.not(readlinkSync(`/proc/${memberPid}/ns/mnt`), readlinkSync(`/proc/${infraPid}/ns/mnt`), 'a mount namespace of its own');
    assert.match(podman(['top', 'member']).stdout, /\bsleep 60\b/);
    assert.match(podman(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'member']).stdout, /^member 1$/);
  } finally {
    assert.is(podman(['pod', 'rm', '--force', 'pod1']).status, 0);
  }
});

if (enabled) test.run();
else console.log(`client: podman: skipped (${isRoot ? 'podman is not installed' : 'needs root'})`);
