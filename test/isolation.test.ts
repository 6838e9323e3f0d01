// What a container sees from inside: checked by running busybox in real containers.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConfigWithProcess as Config } from '../native/spec/config.js';
import { assertNothingLeft, berth, berthBin, isRoot, makeBundle, makeRootfs, mountsUnder, uniqueId, workspace } from './helpers/fixtures.js';
import { consoleReceiver } from './helpers/console.js';

const test = suite('isolation');
const { dir, root, rootfs } = workspace(test);

/** Run SCRIPT with sh in a fresh container (config changed by PATCH); its stdout and stderr. */
function run(script: string, patch?: (c: Config) => void, rootPath = rootfs): { stdout: string; stderr: string } {
  const id = uniqueId('iso');
  const b = makeBundle(join(dir, id), rootPath, ['sh', '-c', script], patch);
  const r = berth(root, ['run', '--bundle', b, id]);
  assert.is(r.status, 0, `container failed: ${r.stderr}`);
  return { stdout: r.stdout.trim(), stderr: r.stderr };
}

const inside = (script: string, patch?: (c: Config) => void, rootPath = rootfs) => run(script, patch, rootPath).stdout;

const status = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}:`))!.split(/\s+/).slice(1).join(' ');

test('pid 1 of its own pid namespace, alone', () => {
  const [pid, ...procs] = inside('echo $$; ls -d /proc/[0-9]*').split('\n');
  assert.is(pid, '1');
  assert.ok(procs.every((p) => Number(p.slice(6)) < 10), `only the container's processes: ${procs}`);
});

test('its own hostname and domainname', () => {
  assert.is(inside('hostname; cat /proc/sys/kernel/domainname', (c) => ((c.hostname = 'box'), (c.domainname = 'example'))), 'box\nexample');
});

test('ls / shows the rootfs and nothing of the host', () => {
  assert.is(inside('ls /'), 'bin\ndev\netc\nproc\nroot\nsys\ntmp');
});

test('a network namespace with only lo, up: localhost answers', () => {
  assert.equal(
    inside('tail -n +3 /proc/net/dev')
      .split('\n')
      .map((l) => l.trim().split(':')[0]),
    ['lo'],
  );
  assert.match(inside('ip link show lo'), /<LOOPBACK,UP,LOWER_UP>/);
  // The client tries until the listener is up (a busy host may take longer than a fixed wait).
  assert.is(inside('nc -l -p 7777 -w 5 & for i in 1 2 3 4 5 6 7 8 9 10; do echo hello | nc -w 1 127.0.0.1 7777 2>/dev/null && break; sleep 0.2; done; wait').trim(), 'hello');
});

test('mounts as configured; a read-only root', () => {
  const mounts = inside('cat /proc/mounts; touch /x 2>&1; echo rc=$?');
  assert.match(mounts, /^proc \/proc proc /m);
  assert.match(mounts, /^tmpfs \/dev tmpfs rw,nosuid,/m);
  assert.match(mounts, /^devpts \/dev\/pts devpts /m);
  assert.match(mounts, /^sysfs \/sys sysfs ro,/m);
  assert.match(mounts, /Read-only file system\nrc=1$/);
  assert.match(inside('touch /x && rm /x && echo wrote', (c) => (c.root.readonly = false)), /wrote/);
});

test('tmpcopyup: a tmpfs over /etc holds a copy of what it hides, with modes, owners and symlinks; writes stay in it', () => {
  const r = makeRootfs(join(dir, 'copyup-rootfs'));
  mkdirSync(join(r, 'etc', 'conf.d'), { mode: 0o750 });
  writeFileSync(join(r, 'etc', 'conf.d', 'a.conf'), 'a=1\n', { mode: 0o604 });
  chownSync(join(r, 'etc', 'conf.d', 'a.conf'), 7, 8);
  symlinkSync('../passwd', join(r, 'etc', 'conf.d', 'link'));
  const out = inside(
    'grep " /etc " /proc/mounts | cut -d" " -f1,3; cat /etc/passwd | head -1; stat -c "%a %u:%g %n" /etc/conf.d /etc/conf.d/a.conf; readlink /etc/conf.d/link; cat /etc/conf.d/a.conf; touch /etc/new && echo wrote',
    (c) => c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'nosuid', 'nodev', 'tmpcopyup'] }),
    r,
  );
  assert.is(out, 'tmpfs tmpfs\nroot:x:0:0:root:/root:/bin/sh\n750 0:0 /etc/conf.d\n604 7:8 /etc/conf.d/a.conf\n../passwd\na=1\nwrote');
  assert.not.ok(existsSync(join(r, 'etc', 'new')), 'the write stayed in the tmpfs');
});

test('rro: a recursive bind is read-only in every mount below it too; ro only on top', () => {
  const r = makeRootfs(join(dir, 'rro-rootfs'));
  const src = join(dir, 'rro-src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', join(src, 'sub')]);
  assert.is(mounted.status, 0, String(mounted.stderr));
  try {
    const write = 'touch /m/x 2>/dev/null && echo top-rw || echo top-ro; touch /m/sub/x 2>/dev/null && echo sub-rw || echo sub-ro';
    const bind = (options: string[]) => (c: Config) => c.mounts.push({ destination: '/m', type: 'bind', source: src, options });
    assert.is(inside(write, bind(['rbind', 'ro']), r), 'top-ro\nsub-rw');
    assert.is(inside(write, bind(['rbind', 'rro']), r), 'top-ro\nsub-ro');
    assert.is(inside(write, bind(['rbind', 'rro', 'rrw']), r), 'top-rw\nsub-rw', 'the later word wins');
  } finally {
    spawnSync('umount', [join(src, 'sub')]);
  }
});

test('a mount option berth cannot apply is refused by its path, and nothing is left', () => {
  const cases: [Config['mounts'][number], RegExp][] = [
    [{ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'bogus=1'] }, /^mounts\[\d+\]\.options\[1\]: "bogus=1" is not a mount option berth knows for tmpfs$/m],
    [{ destination: '/p', type: 'proc', source: 'proc', options: ['tmpcopyup'] }, /^mounts\[\d+\]\.options\[0\]: tmpcopyup is for tmpfs mounts only$/m],
    [{ destination: '/m', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'idmap'] }, /^mounts\[\d+\]\.options\[1\]: idmap is for bind mounts only$/m],
    [{ destination: '/m', type: 'bind', source: dir, options: ['rbind', 'idmap'] }, /^mounts\[\d+\]\.options: idmap needs mappings: the mount's uidMappings and gidMappings, or a user namespace's$/m],
    [{ destination: '/m', type: 'bind', source: dir, options: ['rbind', 'frobnicate'] }, /^mounts\[\d+\]\.options\[1\]: "frobnicate" is not a mount option berth knows$/m],
  ];
  for (const [mount, message] of cases) {
    const id = uniqueId('iso-opt');
    const b = makeBundle(join(dir, id), rootfs, ['true'], (c) => c.mounts.push(mount));
    const r = berth(root, ['create', '--bundle', b, id]);
    assert.is.not(r.status, 0);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.not.ok(existsSync(join(root, id)), 'no state folder');
  }
});

test('the default devices, and configured ones with their modes', () => {
  const out = inside('ls -ln /dev/null /dev/zero /dev/fuse; echo hi > /dev/null && echo null-ok; readlink /dev/fd; readlink /dev/ptmx', (c) =>
    c.linux.devices.push({ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }),
  );
  assert.match(out, /^crw-------\s+1 0\s+0\s+10,\s+229 .*\/dev\/fuse$/m);
  assert.match(out, /^crw-rw-rw-\s+1 0\s+0\s+1,\s+3 .*\/dev\/null$/m);
  assert.match(out, /null-ok\n\/proc\/self\/fd\npts\/ptmx$/);
});

test('uid, gid, additional groups, umask and cwd as configured', () => {
  const out = inside('grep -E "^(Uid|Gid|Groups):" /proc/self/status; umask; pwd', (c) => {
    c.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o027 };
    c.process.cwd = '/tmp/work';
  });
  assert.is(status(out, 'Uid'), '1000 1000 1000 1000');
  assert.is(status(out, 'Gid'), '1001 1001 1001 1001');
  assert.is(status(out, 'Groups').trim(), '10 20');
  assert.match(out, /0027\n\/tmp\/work$/);
});

test('its cgroup is the root of its cgroup namespace, and the host puts it in berth-<id>', () => {
  assert.match(inside('cat /proc/self/cgroup'), /^\d+:pids:\/$/m);
});

test('capabilities, no_new_privs and rlimits from the config', () => {
  const out = inside('grep -E "^(CapBnd|CapEff|CapPrm|CapInh|CapAmb|NoNewPrivs):" /proc/self/status; ulimit -n', (c) => {
    c.process.capabilities = { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] };
    c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 456 }];
  });
  assert.is(status(out, 'CapBnd'), '0000000000000021');
  for (const set of ['CapEff', 'CapPrm', 'CapInh', 'CapAmb']) assert.is(status(out, set), '0000000000000020', set);
  assert.is(status(out, 'NoNewPrivs'), '1');
  assert.match(out, /321$/);
});

test('masked paths hide, read-only paths refuse writes', () => {
  // (this kernel has /proc/timer_list and /proc/acpi; /proc/kcore is not built in)
  const out = run('wc -c < /proc/timer_list; ls -A /proc/acpi 2>/dev/null | wc -l; echo 1 > /proc/sys/kernel/domainname; echo rc=$?');
  assert.is(out.stdout, '0\n0\nrc=1');
  assert.match(out.stderr, /Read-only file system/);
});

test("a rootfs whose /dev/null is a symlink to a procfs file: masked files are masked all the same (runc's CVE-2025-31133)", () => {
  const r = makeRootfs(join(dir, 'devnull-rootfs'));
  symlinkSync('/proc/sys/kernel/hostname', join(r, 'dev', 'null'));
  for (const user of [false, true]) {
    const out = inside(
      'cat /proc/version; echo "[end]"; echo x > /proc/version && echo wrote',
      (c) => {
        c.hostname = 'canary-host';
        c.mounts = c.mounts.filter((m) => !m.destination.startsWith('/dev')); // the rootfs's own /dev
        c.linux.maskedPaths = ['/proc/version'];
        if (user) {
          c.linux.namespaces.push({ type: 'user' });
          c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        }
      },
      r,
    );
    assert.is(out, '[end]\nwrote', `${user ? 'with' : 'without'} a user namespace: an empty /proc/version (not the hostname), writes go to the null device`);
  }
});

test("a /sys that is a bind of something else, whose masked and read-only paths are symlinks out of it: masked and made read-only inside, no host path reached", () => {
  const fakeSys = join(dir, 'fake-sys');
  const hostDir = join(dir, 'host-dir'); // what the symlinks name, as an absolute host path
  mkdirSync(hostDir, { recursive: true });
  mkdirSync(join(fakeSys, 'kernel'), { recursive: true });
  writeFileSync(join(hostDir, 'secret'), 'host secret\n');
  writeFileSync(join(fakeSys, 'kernel', 'file'), 'fake\n');
  symlinkSync(hostDir, join(fakeSys, 'firmware'));
  symlinkSync(join(hostDir, 'secret'), join(fakeSys, 'secret'));
  const out = inside('cat /sys/secret 2>&1; ls /sys/firmware/ 2>&1 | head -1; cat /sys/kernel/file; echo x > /sys/kernel/file 2>&1 || echo kernel-ro', (c) => {
    c.mounts = [...c.mounts.filter((m) => m.destination !== '/sys'), { destination: '/sys', type: 'bind', source: fakeSys, options: ['rbind', 'rw'] }];
    c.linux.maskedPaths = ['/sys/firmware', '/sys/secret'];
    c.linux.readonlyPaths = ['/sys/kernel'];
  });
  const [secret, firmware, kernel, ...write] = out.split('\n');
  assert.ok(!secret!.includes('host secret'), `the masked symlink does not reach the host's file: ${secret}`);
  assert.ok(!firmware!.includes('secret'), `nor the masked dir the host's: ${firmware}`);
  assert.is(kernel, 'fake');
  assert.equal(write, ['kernel-ro'], 'read-only');
  assert.is(readFileSync(join(hostDir, 'secret'), 'utf8'), 'host secret\n', 'the host file untouched');
  assert.is(readFileSync(join(fakeSys, 'kernel', 'file'), 'utf8'), 'fake\n');
  assert.equal(mountsUnder(hostDir), [], 'nothing mounted on the host path');
});

test("a rootfs whose /dev/ptmx or /dev/console is a symlink to a file: the terminal is refused in one line, nothing is written or bound through it (runc's CVE-2025-52565 class)", async () => {
  const cases = [
    ['ptmx', (c: Config) => (c.mounts = c.mounts.filter((m) => !m.destination.startsWith('/dev'))), 'ENOTTY (inappropriate ioctl for device)'],
    // the rootfs's own /dev, with devpts still mounted in it
    ['console', (c: Config) => (c.mounts = c.mounts.filter((m) => m.destination !== '/dev')), 'ELOOP (too many symbolic links encountered)'],
  ] as const;
  for (const [node, devMounts, errno] of cases) {
    const r = makeRootfs(join(dir, `${node}-rootfs`));
    writeFileSync(join(r, 'etc', 'decoy'), 'untouched\n');
    symlinkSync('/etc/decoy', join(r, 'dev', node));
    const id = uniqueId(`iso-${node}`);
    const b = makeBundle(join(dir, id), r, ['true'], (c) => {
      c.process.terminal = true;
      c.root.readonly = false;
      devMounts(c);
    });
    const receiver = await consoleReceiver(dir);
    const res = berth(root, ['create', '--console-socket', receiver.socket, '--bundle', b, id]);
    assert.is(res.status, 1);
    assert.is(res.stderr, `make a terminal, bind it over /dev/console and hand its master to the console socket: ${errno}\n`);
    assert.is(readFileSync(join(r, 'etc', 'decoy'), 'utf8'), 'untouched\n');
    assertNothingLeft(root, id, r);
  }
});

test("a mount destination swapped between a folder and an escaping symlink while berth mounts: nothing is made or mounted outside the rootfs (runc's CVE-2021-30465)", async () => {
  const r = makeRootfs(join(dir, 'race-rootfs'));
  const outside = join(dir, 'race-outside');
  mkdirSync(outside);
  mkdirSync(join(r, 'data'));
  const escape = `${'../'.repeat(12)}${outside.slice(1)}/target`;
  // The racer swaps rootfs/data/mnt between a folder and a symlink out of the rootfs, as a second
  // container sharing the folder would.
  const racer = spawn('sh', ['-c', `cd ${r}/data; while :; do mkdir mnt 2>/dev/null; rmdir mnt 2>/dev/null; ln -s ${escape} mnt 2>/dev/null; rm -f mnt; done`], { stdio: 'ignore' });
  try {
    const outcomes = { ran: 0, refused: 0 };
    for (let i = 0; i < 40; i++) {
      const id = uniqueId('iso-race');
      const b = makeBundle(join(dir, id), r, ['true'], (c) => {
        c.root.readonly = false;
        c.mounts.push({ destination: '/data/mnt/sub', type: 'tmpfs', source: 'tmpfs', options: [] });
      });
      const res = berth(root, ['run', '--bundle', b, id]);
      if (res.status === 0) outcomes.ran++;
      else {
        outcomes.refused++;
        assert.is(res.stderr.trimEnd().split('\n').length, 1, `one line: ${res.stderr}`);
      }
      assert.not.ok(existsSync(join(outside, 'target')), `#${i}: nothing made outside the rootfs`);
      assertNothingLeft(root, id, join(dir, id)); // (the racer itself works in the rootfs)
    }
    assert.ok(outcomes.ran > 0, `some creates won the race: ${JSON.stringify(outcomes)}`);
  } finally {
    racer.kill('SIGKILL');
    await new Promise((done) => racer.on('exit', done));
  }
  assert.equal(mountsUnder(outside), [], 'nothing mounted there either');
});

test('idmapped binds: the host\'s owners seen through the container\'s user namespace, or through the mount\'s own mappings', () => {
  const data = join(dir, 'idmap-data');
  mkdirSync(data, { recursive: true });
  chmodSync(dir, 0o711); // a plain bind's source is opened inside the user namespace: its path must be traversable
  const r = makeRootfs(join(dir, 'idmap-rootfs'));
  mkdirSync(join(r, 'data')); // and its mount point there cannot be made by the container's root
  writeFileSync(join(data, 'file'), 'x');
  chownSync(data, 0, 0);
  chownSync(join(data, 'file'), 0, 0);
  const userns = (c: Config) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  const owners = (mount: Partial<Config['mounts'][number]>) =>
    inside('stat -c "%u:%g" /data/file; touch /data/made 2>/dev/null && echo made || echo refused', (c) => {
      userns(c);
      c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'rw'], ...mount });
    }, r);
  assert.is(owners({}), '65534:65534\nrefused', 'a plain bind: the host\'s root is nobody inside, and may not be written as');
  assert.is(owners({ options: ['bind', 'rw', 'idmap'] }), '0:0\nmade', "idmap: the host's root is the container's root");
  assert.is(statSync(join(data, 'made')).uid, 0, 'what the container made is the host root\'s on disk');
  rmSync(join(data, 'made'));
  const own = [{ containerID: 0, hostID: 100001, size: 1 }];
  assert.is(owners({ options: ['bind', 'rw'], uidMappings: own, gidMappings: own }), '1:1\nrefused', 'the mount\'s own mappings: host 0 is 100001 outside, 1 inside');
  assert.equal(readdirSync(data).sort(), ['file']);
});

test('namespaced sysctls are set inside; oom_score_adj', () => {
  assert.is(inside('cat /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj', (c) => ((c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }), (c.process.oomScoreAdj = 123))), '1\n123');
});

test("mounts that would take /proc's place or cover its files are refused, but LXCFS's files (runc's CVE-2019-16884, CVE-2023-27561)", () => {
  const fake = join(dir, 'fake-proc');
  mkdirSync(join(fake, 'sys', 'net', 'ipv4'), { recursive: true });
  writeFileSync(join(fake, 'sys', 'net', 'ipv4', 'ip_forward'), 'host file\n');
  writeFileSync(join(dir, 'fake-cpuinfo'), 'processor : lxcfs\n');
  const refused: [string, (c: Config) => void, string][] = [
    ['a bind at /proc', (c) => (c.mounts = [...c.mounts.filter((m) => m.destination !== '/proc'), { destination: '/proc', type: 'bind', source: fake, options: ['rbind', 'rw'] }]), 'is /proc: only a proc mount may go there'],
    ['a tmpfs at /proc', (c) => (c.mounts = [...c.mounts.filter((m) => m.destination !== '/proc'), { destination: '//proc/', type: 'tmpfs', source: 'tmpfs', options: [] }]), 'is /proc: only a proc mount may go there'],
    ['a bind over /proc/sys', (c) => c.mounts.push({ destination: '/proc/sys', type: 'bind', source: join(fake, 'sys'), options: ['rbind'] }), 'is inside /proc: only /proc/cpuinfo, '],
    ['a bind over /proc/self/attr', (c) => c.mounts.push({ destination: '/proc/self/attr/exec', type: 'bind', source: join(dir, 'fake-cpuinfo'), options: ['bind'] }), 'is inside /proc: only /proc/cpuinfo, '],
  ];
  for (const [what, patch, message] of refused) {
    const id = uniqueId('iso-proc');
    const b = makeBundle(join(dir, id), rootfs, ['true'], (c) => ((c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }), patch(c)));
    const res = berth(root, ['create', '--bundle', b, id]);
    assert.is(res.status, 1, what);
    const index = (JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as Config).mounts.length - 1;
    assert.ok(res.stderr.startsWith(`mounts[${index}].destination: ${message}`) && res.stderr.split('\n').length === 2, `${what}: ${res.stderr}`);
    assertNothingLeft(root, id, dir);
  }
  assert.is(readFileSync(join(fake, 'sys', 'net', 'ipv4', 'ip_forward'), 'utf8'), 'host file\n');
  const lxcfs = inside('head -1 /proc/cpuinfo', (c) => c.mounts.push({ destination: '/proc/cpuinfo', type: 'bind', source: join(dir, 'fake-cpuinfo'), options: ['bind', 'ro'] }));
  assert.is(lxcfs, 'processor : lxcfs');
});

test('process.scheduler, process.ioPriority and linux.personality, as the process sees them', () => {
  const stat = (c: (x: Config) => void) => inside('cut -d" " -f19,40,41 /proc/self/stat; ionice -p $$; uname -m', c).split('\n');
  const raw = (c: Config) => c as unknown as { linux: Record<string, unknown>; process: Record<string, unknown> };
  // /proc/self/stat: nice (19), rt_priority (40), policy (41; SCHED_BATCH 3, SCHED_FIFO 1)
  const [batch, idle, machine] = stat((c) => ((raw(c).process.scheduler = { policy: 'SCHED_BATCH', nice: 5 }), (raw(c).process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 })));
  assert.is(batch, '5 0 3');
  assert.is(idle, 'idle');
  assert.is(machine, 'x86_64');
  const [fifo, be, linux32] = stat((c) => ((raw(c).process.scheduler = { policy: 'SCHED_FIFO', priority: 10 }), (raw(c).process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 }), (raw(c).linux.personality = { domain: 'LINUX32' }), (c.linux.resources = { cpu: { realtimeRuntime: 10_000 } })));
  assert.is(fifo, '0 10 1', 'SCHED_FIFO at 10 (v1: the cgroup needs a real-time budget)');
  assert.is(be, 'best-effort: prio 6');
  assert.is(linux32, 'i686', 'LINUX32: uname says i686');
});

test('linux.memoryPolicy: the NUMA policy the program runs with, as /proc/self/numa_maps shows it', () => {
  const policy = (memoryPolicy: object) =>
    inside('head -1 /proc/self/numa_maps | cut -d" " -f2', (c) => ((c as unknown as { linux: Record<string, unknown> }).linux.memoryPolicy = memoryPolicy));
  assert.is(policy({ mode: 'MPOL_BIND', nodes: '0' }), 'bind:0');
  assert.is(policy({ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }), 'interleave=static:0');
  assert.is(policy({ mode: 'MPOL_PREFERRED' }), 'local', 'preferred with no node: the local one');
  assert.is(policy({ mode: 'MPOL_DEFAULT' }), 'default');
});

test('linux.timeOffsets: the time namespace\'s clocks moved, the host\'s not', () => {
  const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split('.')[0]);
  const out = inside('cut -d. -f1 /proc/uptime; cat /proc/self/timens_offsets', (c) => {
    c.linux.namespaces.push({ type: 'time' });
    (c as unknown as { linux: Record<string, unknown> }).linux.timeOffsets = { boottime: { secs: 1_000_000 }, monotonic: { secs: 500, nanosecs: 7 } };
  }).split('\n');
  const inner = Number(out[0]);
  assert.ok(inner >= 1_000_000 + uptime() - 5 && inner <= 1_000_000 + uptime() + 5, `boottime moved by 1,000,000 s: ${out[0]}`);
  assert.equal(out.slice(1).map((l) => l.trim().split(/\s+/).join(' ')), ['monotonic 500 7', 'boottime 1000000 0']);
  assert.ok(uptime() < 1_000_000, "the host's clock is its own");
});

test('a user namespace: root inside, uid 100000 outside', () => {
  const out = inside('cat /proc/self/uid_map /proc/self/gid_map; id -u; mknod /tmp/n c 1 3 2>&1; echo rc=$?', (c) => {
    c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: [] }); // its own: writable by its root
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  assert.match(out, /^\s*0\s+100000\s+65536\n\s*0\s+100000\s+65536\n0\n/);
  assert.match(out, /Operation not permitted\nrc=1$/, 'mknod needs real root');
});

test("an rshared bind of a shared host folder, with an rshared root (the CRI's Bidirectional volume): mounts propagate both ways, as with runc", () => {
  // The host side: a folder of the test's own, bound on itself and made shared (no host mount is touched).
  const shared = join(dir, 'prop-shared');
  mkdirSync(join(shared, 'from-host'), { recursive: true });
  mkdirSync(join(shared, 'from-container'));
  assert.is(spawnSync('mount', ['--bind', shared, shared]).status, 0);
  const id = uniqueId('rshared');
  try {
    assert.is(spawnSync('mount', ['--make-shared', shared]).status, 0);
    // What the host mounted, seen inside, written into what the container mounted, seen outside.
    const script = 'mount -t tmpfs tmpfs /shared/from-container && cat /shared/from-host/mark > /shared/from-container/mark';
    const b = makeBundle(join(dir, id), makeRootfs(join(dir, 'prop-rootfs')), ['sh', '-c', script], (c) => {
      c.linux.rootfsPropagation = 'rshared';
      c.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rshared', 'rw'] });
      c.process.capabilities = Object.fromEntries(['bounding', 'effective', 'permitted'].map((k) => [k, ['CAP_SYS_ADMIN']]));
    });
    assert.is(berth(root, ['create', '--bundle', b, id]).status, 0);
    // Made after the container's bind: only propagation brings it in.
    assert.is(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', join(shared, 'from-host')]).status, 0);
    writeFileSync(join(shared, 'from-host', 'mark'), 'from-host\n');
    assert.is(berth(root, ['start', id]).status, 0);
    const exited = spawnSync('sh', ['-c', `for i in $(seq 100); do [ -e ${join(shared, 'from-container', 'mark')} ] && exit 0; sleep 0.05; done; exit 1`]);
    assert.is(exited.status, 0, "the container's mount reached the host");
    assert.is(readFileSync(join(shared, 'from-container', 'mark'), 'utf8'), 'from-host\n', "and the host's reached the container");
    assert.is(berth(root, ['delete', '--force', id]).status, 0);
  } finally {
    berth(root, ['delete', '--force', id]);
    for (const m of mountsUnder(shared).reverse()) spawnSync('umount', ['-l', m]);
    spawnSync('umount', ['-l', shared]);
  }
});

test('a symlink in the rootfs cannot make a mount land outside it', () => {
  const evil = join(dir, 'evil-rootfs');
  makeRootfs(evil);
  const target = join(dir, 'outside');
  mkdirSync(target);
  symlinkSync(target, join(evil, 'escape')); // absolute: means <rootfs>/<target> inside, never the host's
  const out = inside('grep " /escape\\| /tmp/" /proc/mounts | cut -d" " -f2', (c) => c.mounts.push({ destination: '/escape', type: 'tmpfs', source: 'tmpfs', options: [] }), evil);
  assert.is(out, target, 'the tmpfs is on the symlink target resolved inside the rootfs');
  assert.equal(mountsUnder(target), []);
  assert.ok(existsSync(join(evil, target)), 'the target was created inside the rootfs');
});

test('a mount destination through dangling symlinks: what they name is made inside the rootfs, however the links are written', () => {
  const r = join(dir, 'dangling-rootfs');
  makeRootfs(r);
  mkdirSync(join(r, 'data'));
  symlinkSync('../made/deep', join(r, 'data', 'rel')); // relative, to a folder two levels missing
  symlinkSync('/abs/target', join(r, 'data', 'abs')); // absolute: inside the rootfs
  symlinkSync('gone/../back', join(r, 'data', 'dots')); // through a missing folder and back out of it
  const out = inside('grep " /made\\| /abs\\| /data" /proc/mounts | cut -d" " -f2 | sort | tr "\\n" " "', (c) => {
    for (const d of ['/data/rel/sub', '/data/abs', '/data/dots']) c.mounts.push({ destination: d, type: 'tmpfs', source: 'tmpfs', options: [] });
  }, r);
  assert.is(out, '/abs/target /data/back /made/deep/sub');
  for (const p of ['made/deep/sub', 'abs/target', 'data/gone', 'data/back']) assert.ok(existsSync(join(r, p)), `${p} was made inside the rootfs`);
});

test('no fd of berth reaches the program; --preserve-fds hands over exactly the ones asked for', async () => {
  assert.is(inside('ls /proc/self/fd | tr "\\n" " "'), '0 1 2 3', 'stdio, and the fd ls reads the folder with');
  const id = uniqueId('fds');
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; cat <&3; cat <&4']);
  const a = join(dir, 'fd-a');
  const c = join(dir, 'fd-b');
  writeFileSync(a, 'A');
  writeFileSync(c, 'B');
  const child = spawn(berthBin, ['--root', root, 'run', '--preserve-fds', '2', '--bundle', b, id], { stdio: ['ignore', 'pipe', 'inherit', openSync(a, 'r'), openSync(c, 'r')] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  assert.is(await new Promise((r) => child.on('exit', r)), 0);
  assert.is(out, '0 1 2 3 4 5 AB');
});

test('--no-pivot: MS_MOVE and chroot', () => {
  const id = uniqueId('nopivot');
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', 'ls /; echo $$']);
  const r = berth(root, ['run', '--no-pivot', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'bin\ndev\netc\nproc\nroot\nsys\ntmp\n1\n');
});

test('without a mount namespace: the host’s mount namespace, and delete removes the mounts it made', () => {
  const id = uniqueId('hostmnt');
  const own = join(dir, 'hostmnt-rootfs');
  makeRootfs(own);
  const b = makeBundle(join(dir, id), own, ['sleep', '30'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount');
    c.linux.maskedPaths = [];
    c.linux.readonlyPaths = [];
    c.root.readonly = false;
  });
  const started = berth(root, ['run', '-d', '--bundle', b, id]);
  assert.is(started.status, 0, started.stderr);
  const pid = JSON.parse(berth(root, ['state', id]).stdout).pid;
  assert.is(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'the host mount namespace');
  assert.ok(mountsUnder(own).includes(join(own, 'proc')), 'its /proc is a mount in the host namespace');
  assert.is(berth(root, ['delete', '--force', id]).status, 0);
  assert.equal(mountsUnder(own), [], 'delete detached them');
});

if (isRoot) test.run();
else console.log('isolation: skipped (needs root)');
