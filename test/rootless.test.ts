// A rootless berth: an unprivileged user (made for the test, removed after) runs containers whose
// user namespace maps the user's own uid and gid to root — state under its $XDG_RUNTIME_DIR,
// closed to others; no cgroup on this v1 host, so limits, pause and ps say so in one line.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { berthBin, cgroupsLeft, containerFolders, isRoot, makeBundle, makeRootfs, mountsUnder, processesIn, tempDir, uniqueId } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('rootless');
const enabled = isRoot && spawnSync('useradd', ['--help']).status === 0 && spawnSync('setpriv', ['--help']).status === 0;
const user = `berthrl${process.pid % 100000}`;
const dir = enabled ? tempDir('berth-rootless-') : '';
const xdg = join(dir, 'xdg');
const userRoot = join(xdg, 'berth');
let uid = -1;
let gid = -1;

/**
 * berth as the test user, with only PATH and XDG_RUNTIME_DIR in its environment. Output goes
 * through files: a detached container keeps the stdout it was given, and a pipe would stay open.
 */
function asUser(args: string[], as = { uid: () => uid, gid: () => gid }, cgroup?: string) {
  const out = join(dir, `out-${uniqueId('o')}`);
  const fds = [openSync(`${out}.1`, 'w+'), openSync(`${out}.2`, 'w+')];
  const argv = ['setpriv', '--reuid', String(as.uid()), '--regid', String(as.gid()), '--clear-groups', '--', 'env', '-i', 'PATH=/usr/bin:/bin', `XDG_RUNTIME_DIR=${xdg}`, berthBin, ...args];
  // CGROUP: the call starts in that cgroup, as a user's session does in its delegated subtree (moved there by root).
  const [file, rest] = cgroup ? ['sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv]] : [argv[0]!, argv.slice(1)];
  try {
    const r = spawnSync(file, rest, { stdio: ['ignore', fds[0], fds[1]], cwd: dir, timeout: 30_000 });
    return { status: r.status, stdout: readFileSync(`${out}.1`, 'utf8'), stderr: readFileSync(`${out}.2`, 'utf8') };
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(`${out}.1`);
    rmSync(`${out}.2`);
  }
}
const ok = (r: ReturnType<typeof asUser>, what: string) => (assert.is(r.status, 0, `${what}: ${r.stderr}`), r.stdout);

/** A rootless bundle of the user's own: `spec --rootless`, its program ARGS, changed by PATCH. */
function bundle(name: string, args: string[], patch?: (c: Record<string, any>) => void): string {
  const b = join(dir, name);
  mkdirSync(b);
  chownSync(b, uid, gid);
  ok(asUser(['spec', '--rootless', '--bundle', b]), 'spec --rootless');
  const c = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
  c.root.path = join(dir, 'rootfs');
  c.process.args = args;
  patch?.(c);
  writeFileSync(join(b, 'config.json'), JSON.stringify(c));
  return b;
}

test.before(() => {
  assert.is(spawnSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', user]).status, 0, 'useradd');
  uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
  gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout);
  chmodSync(dir, 0o711);
  mkdirSync(xdg, { mode: 0o700 });
  chownSync(xdg, uid, gid);
  const rootfs = makeRootfs(join(dir, 'rootfs'));
  spawnSync('chown', ['-R', `${uid}:${gid}`, rootfs]); // the user's own image, as a rootless podman's storage is
});

test.after(() => {
  if (!enabled) return;
  if (existsSync(userRoot)) for (const id of ok(asUser(['list', '-q']), 'list').split('\n').filter(Boolean)) asUser(['delete', '--force', id]);
  // The user's servers: its own, and one per user namespace it ran berth in (podman's)
  const servers = existsSync(userRoot) ? readdirSync(userRoot).filter((e) => e.startsWith('@server') && existsSync(join(userRoot, e, 'pid'))).map((e) => Number(readFileSync(join(userRoot, e, 'pid'), 'utf8'))) : [];
  for (const server of servers.filter((p) => existsSync(`/proc/${p}`))) process.kill(server, 'SIGTERM');
  waitUntil(() => servers.every((p) => !existsSync(`/proc/${p}`)));
  spawnSync('userdel', [user]);
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});

test('run: root inside, the user outside; its own hostname and pid 1', () => {
  const b = bundle('hello', ['sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map; hostname; echo $$']);
  const out = ok(asUser(['run', '--bundle', b, uniqueId('rl')]), 'run').split('\n');
  assert.is(out[0], '0');
  assert.equal(out[1]!.trim().split(/\s+/), ['0', String(uid), '1']);
  assert.equal(out[2]!.trim().split(/\s+/), ['0', String(gid), '1']);
  assert.equal(out.slice(3, 5), ['berth', '1']);
});

test("the lifecycle with exec, state under the user's runtime folder closed to others, and what the container writes is the user's", () => {
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chownSync(shared, uid, gid);
  const b = bundle('life', ['sleep', '60'], (c) => c.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] }));
  const id = uniqueId('rl');
  ok(asUser(['create', '--bundle', b, id]), 'create');
  ok(asUser(['start', id]), 'start');
  assert.is(JSON.parse(ok(asUser(['state', id]), 'state')).status, 'running');
  assert.is(ok(asUser(['exec', id, 'sh', '-c', 'id -u; echo made > /shared/file']), 'exec'), '0\n');
  assert.is(statSync(join(shared, 'file')).uid, uid, "the container's root is the user on the host");
  for (const path of [userRoot, join(userRoot, id)]) {
    const st = statSync(path);
    assert.is(st.uid, uid, `${path} is the user's`);
    assert.is(st.mode & 0o077, 0, `${path} is closed to others`);
  }
  assert.equal(cgroupsLeft(`berth-${id}`), [], 'no cgroup was made');
  ok(asUser(['kill', id, 'KILL']), 'kill');
  assert.ok(waitUntil(() => JSON.parse(asUser(['state', id]).stdout).status === 'stopped'));
  ok(asUser(['delete', id]), 'delete');
  assert.not.ok(existsSync(join(userRoot, id)));
  assert.equal(processesIn(join(dir, 'rootfs')), []);
});

test('wider ranges from /etc/subuid and /etc/subgid, through newuidmap and newgidmap', () => {
  assert.is(spawnSync('usermod', ['--add-subuids', '300000-301999', '--add-subgids', '300000-301999', user]).status, 0, 'usermod');
  const wide = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: 300000, size: 2000 }];
  const wideGid = [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: 300000, size: 2000 }];
  const b = bundle('wide', ['sh', '-c', 'cat /proc/self/uid_map; chown 1000:1000 /shared/x && stat -c %u:%g /shared/x'], (c) => {
    for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set].push('CAP_CHOWN');
    c.linux.uidMappings = wide;
    c.linux.gidMappings = wideGid;
    c.mounts.push({ destination: '/shared', type: 'bind', source: join(dir, 'wide-shared'), options: ['rbind', 'rw'] });
  });
  mkdirSync(join(dir, 'wide-shared'));
  writeFileSync(join(dir, 'wide-shared', 'x'), '');
  spawnSync('chown', ['-R', `${uid}:${gid}`, join(dir, 'wide-shared')]);
  const out = ok(asUser(['run', '--bundle', b, uniqueId('rl')]), 'run').trim().split('\n');
  assert.equal(out.slice(0, 2).map((l) => l.trim().split(/\s+/)), [['0', String(uid), '1'], ['1', '300000', '2000']]);
  assert.is(out[2], '1000:1000');
  assert.is(statSync(join(dir, 'wide-shared', 'x')).uid, 300999, "container uid 1000 is the subordinate 300999 on the host");
  const beyond = bundle('beyond', ['true'], (c) => ((c.linux.uidMappings = [{ containerID: 0, hostID: 400000, size: 10 }]), (c.linux.gidMappings = wideGid)));
  const r = asUser(['create', '--bundle', beyond, uniqueId('rl')]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /^newuidmap: .+\n$/, 'a range not granted to the user: newuidmap says why, in one line');
});

test('what needs a cgroup or privilege is one line: a limit, pause, ps, an idmapped bind, checkpoint; another user cannot reach the state', () => {
  const limited = bundle('limited', ['true'], (c) => (c.linux.resources = { memory: { limit: 64 * 2 ** 20 } }));
  const r = asUser(['create', '--bundle', limited, uniqueId('rl')]);
  assert.is(r.status, 1);
  assert.is(r.stderr, 'linux.resources.memory: needs a cgroup, and a rootless berth has none of its own on this host\n');
  const id = uniqueId('rl');
  ok(asUser(['run', '-d', '--bundle', bundle('sleeper', ['sleep', '60']), id]), 'run -d');
  assert.is(asUser(['pause', id]).stderr, 'the container has no cgroup in a freezer hierarchy: it cannot be paused\n');
  assert.match(asUser(['ps', id]).stderr, /^container .+ has no cgroup of its own \(a rootless berth has none on this host\): its processes cannot be listed\n$/);
  const features = JSON.parse(ok(asUser(['features']), 'features'));
  assert.equal(features.linux.cgroup, { v1: false, v2: false, systemd: false, systemdUser: false, rdma: false }, 'features says it makes no cgroup');
  assert.equal([features.linux.mountExtensions.idmap.enabled, features.linux.netDevices.enabled, features.mountOptions.includes('idmap')], [false, false, false], 'nor idmapped mounts, nor moved network devices');
  const nobody = asUser(['--root', userRoot, 'list'], { uid: () => 65534, gid: () => 65534 });
  assert.is(nobody.status, 1, 'another user is refused');
  assert.is(nobody.stderr.trimEnd().split('\n').length, 1, nobody.stderr);
  const idmapped = asUser(['run', '--bundle', bundle('idmapped', ['true'], (c) => c.mounts.push({ destination: '/data', type: 'bind', source: dir, options: ['bind', 'idmap'] })), uniqueId('rl')]);
  assert.equal([idmapped.status, idmapped.stderr], [1, `mounts[${JSON.parse(readFileSync(join(dir, 'idmapped', 'config.json'), 'utf8')).mounts.length - 1}]: an idmapped bind needs root on the host (CAP_SYS_ADMIN over the file system), which a rootless berth has not\n`]);
  const dumped = asUser(['checkpoint', '--image-path', join(dir, 'images'), id]);
  assert.equal([dumped.status, dumped.stderr], [1, 'checkpoint and restore need root: CRIU cannot dump or restore processes for a rootless berth\n']);
  assert.is(JSON.parse(ok(asUser(['state', id]), 'state')).status, 'running', 'it runs on');
  ok(asUser(['delete', '--force', id]), 'delete -f');
});

test('a cgroup2 subtree delegated to the user (as systemd gives user@UID.service): its containers get their cgroup below it; pause, ps; a limit it cannot apply refused by path', () => {
  const unified = '/sys/fs/cgroup/unified'; // this hybrid host's cgroup2 mount (no controllers but hugetlb)
  if (!existsSync(join(unified, 'cgroup.procs'))) return;
  const delegated = join(unified, `berthrl-${process.pid}`);
  const session = join(delegated, 'session');
  const stateRoot = join(xdg, 'delegated');
  mkdirSync(session, { recursive: true });
  for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) chownSync(join(delegated, f), uid, gid);
  for (const f of ['', 'cgroup.procs']) chownSync(join(session, f), uid, gid);
  const call = (args: string[]) => asUser(['--root', stateRoot, ...args], undefined, session);
  const id = uniqueId('rl-cg');
  try {
    ok(call(['run', '-d', '--bundle', bundle('delegated-sleeper', ['sleep', '60']), id]), 'run -d');
    const own = join(delegated, `berth-${id}`);
    const pid = JSON.parse(ok(call(['state', id]), 'state')).pid as number;
    assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`^0::/berthrl-${process.pid}/berth-${id}$`, 'm'), 'in its cgroup below the delegated one');
    assert.is(statSync(own).uid, uid, "the user's own folder");
    ok(call(['pause', id]), 'pause');
    assert.is(readFileSync(join(own, 'cgroup.freeze'), 'utf8').trim(), '1');
    assert.is(JSON.parse(ok(call(['state', id]), 'state')).status, 'paused');
    ok(call(['resume', id]), 'resume');
    assert.match(ok(call(['ps', id]), 'ps'), /sleep 60/);
    assert.is(JSON.parse(ok(call(['features']), 'features')).linux.cgroup.v2, true);
    const limited = call(['create', '--bundle', bundle('delegated-limited', ['true'], (c) => (c.linux.resources = { memory: { limit: 64 * 2 ** 20 } })), uniqueId('rl-cg')]);
    assert.is(limited.status, 1);
    assert.match(limited.stderr, /^linux\.resources\.memory\.limit: [^\n]*\n$/, 'memory is not delegated here: one line naming the field');
    ok(call(['delete', '--force', id]), 'delete -f');
    assert.not.ok(existsSync(own), 'its cgroup removed');
    assert.equal(readdirSync(delegated).filter((e) => statSync(join(delegated, e)).isDirectory()), ['session'], 'nothing else left below the delegated cgroup');
  } finally {
    call(['delete', '--force', id]);
    let server = 0;
    try {
      server = Number(readFileSync(join(stateRoot, '@server', 'pid'), 'utf8'));
    } catch {
      // no server running
    }
    if (server && existsSync(`/proc/${server}`)) process.kill(server, 'SIGTERM');
    waitUntil(() => !server || !existsSync(`/proc/${server}`));
    spawnSync('rmdir', [session, delegated]);
  }
});

test('berth as root of a user namespace that is not the host\'s (as rootless podman runs its runtime): devices bound, no cgroup, the host\'s cgroup tree read-only', () => {
  const b = join(dir, 'in-userns');
  makeBundle(b, join(dir, 'rootfs'), ['sh', '-c', 'cat /proc/self/uid_map; ls -l /dev/null | cut -c1-10; ls /sys/fs/cgroup | grep -c pids; touch /sys/fs/cgroup/x 2>/dev/null || echo ro'], (c) => {
    // that namespace maps one id, root: no devpts gid 5, no limits
    c.mounts = c.mounts.map((m) => ({ ...m, options: m.options.filter((o) => o !== 'gid=5') }));
    delete c.linux.resources;
  });
  const id = uniqueId('rl-userns');
  const state = join(dir, 'userns-state');
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--', berthBin, '--no-server', '--root', state, 'run', '--bundle', b, id], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['0 0 1', 'crw-rw-rw-', '1', 'ro'], "its own namespace; /dev/null bound, not made; the host's cgroup tree, read-only");
  assert.equal(cgroupsLeft(`berth-${id}`), []);
  assert.equal(existsSync(join(state, id)), false);
  // Without --root it takes the user's runtime folder, as runc does there (podman passes no --root).
  const runtimeDir = join(dir, 'userns-xdg');
  mkdirSync(runtimeDir);
  const ran = spawnSync('unshare', ['--user', '--map-root-user', '--', 'env', `XDG_RUNTIME_DIR=${runtimeDir}`, berthBin, '--no-server', 'run', '--bundle', b, uniqueId('rl-userns')], { encoding: 'utf8', timeout: 30_000 });
  assert.is(ran.status, 0, ran.stderr);
  assert.ok(existsSync(join(runtimeDir, 'berth')), 'the state root under XDG_RUNTIME_DIR');
});

test('rootless podman with berth as its runtime: run, run -d, exec, ps, stop, rm, an exit status', () => {
  if (spawnSync('podman', ['--version']).status !== 0) return console.log('  (no podman: skipped)');
  const home = join(dir, 'home');
  mkdirSync(home);
  chownSync(home, uid, gid);
  const tar = join(dir, 'rootfs.tar');
  spawnSync('tar', ['-C', join(dir, 'rootfs'), '-cf', tar, '.']);
  const podman = (args: string[]) => {
    const r = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', 'env', '-i', `HOME=${home}`, `XDG_RUNTIME_DIR=${xdg}`, 'PATH=/usr/bin:/bin', 'podman', '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
  };
  try {
    assert.is(podman(['import', tar, 'localhost/berth-rl:test']).status, 0);
    const flags = ['--network', 'none', '--runtime', berthBin];
    const run = podman(['run', '--rm', ...flags, 'localhost/berth-rl:test', 'sh', '-c', 'id -u; cat /proc/self/uid_map | head -1; exit 3']);
    assert.is(run.status, 3, run.stderr);
    assert.equal(run.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['0', `0 ${uid} 1`], "podman's user namespace: root inside, the user outside");
    const id = podman(['run', '-d', ...flags, 'localhost/berth-rl:test', 'sleep', '60']);
    assert.is(id.status, 0, id.stderr);
    assert.is(podman(['exec', id.stdout, 'sh', '-c', 'echo exec-ok']).stdout, 'exec-ok');
    assert.match(podman(['ps', '--format', '{{.ID}} {{.Status}}']).stdout, new RegExp(`^${id.stdout.slice(0, 12)} Up `, 'm'));
    assert.is(podman(['stop', '-t', '1', id.stdout]).status, 0);
    assert.is(podman(['rm', id.stdout]).status, 0);
    assert.equal(containerFolders(userRoot), [], 'no berth state left');
  } finally {
    podman(['rm', '-af']);
    podman(['rmi', '-af']);
    // podman's own processes (its user namespace's pause process, conmons) are the test user's
    for (const pid of spawnSync('ps', ['-o', 'pid=', '-u', String(uid)], { encoding: 'utf8' }).stdout.split('\n').filter((p) => p.trim())) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
});

test('a user without XDG_RUNTIME_DIR and --root is told so in one line; root\'s state is never touched', () => {
  const before = existsSync('/run/opencontainer');
  const r = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--', 'env', '-i', 'PATH=/usr/bin:/bin', berthBin, 'list'], { encoding: 'utf8', cwd: dir });
  assert.is(r.status, 1);
  assert.match(r.stderr, /a rootless berth keeps its state in \$XDG_RUNTIME_DIR\/berth: set XDG_RUNTIME_DIR, or give --root\n$/);
  assert.is(existsSync('/run/opencontainer'), before);
});

if (enabled) test.run();
else console.log('rootless: skipped (needs root, useradd and setpriv)');
