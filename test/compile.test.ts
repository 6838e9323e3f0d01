// Plan compilation: config.json in, the exact steps berth-init will execute out. No root needed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseLayout } from '../native/cgroups/layout.js';
import type { CompileContext } from '../native/compile/context.js';
import { compileExecPlan } from '../native/compile/execPlan.js';
import { compileInitPlan } from '../native/compile/initPlan.js';
import { ignoredLsmFields } from '../native/compile/lsm.js';
import { MOUNT_ATTR, MS, parseMountOptions } from '../native/compile/mountFlags.js';
import { capabilityMasks } from '../native/compile/capabilities.js';
import { CLONE_FLAGS, idMapText, loopbackPlan } from '../native/compile/namespaces.js';
import { Resolve, Slot, SyncTag, type Plan } from '../native/plan.js';
import { rootless } from '../native/procfs.js';
import { defaultSpec } from '../native/spec/defaults.js';
import { parseConfig } from '../native/spec/validate.js';
import type { ConfigWithProcess as Config, HookKind, NamespaceType } from '../native/spec/config.js';
import { features } from '../native/spec/features.js';

const v1Mountinfo = [
  '30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory',
  '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct',
  '32 25 0:28 / /sys/fs/cgroup/systemd rw,relatime shared:11 - cgroup cgroup rw,name=systemd',
  '33 25 0:29 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 cgroup2 rw',
].join('\n');

const ctx = (over: Partial<CompileContext> = {}): CompileContext => ({
  bundle: '/b',
  rootfs: '/b/rootfs',
  fifo: '/run/x/c/exec.fifo',
  preserveFds: 0,
  noPivot: false,
  cgroupLayout: parseLayout(v1Mountinfo),
  cgroupDirs: ['/sys/fs/cgroup/memory/c', '/sys/fs/cgroup/cpu,cpuacct/c', '/sys/fs/cgroup/systemd/c'],
  lastCap: 40,
  lsm: { apparmor: false, selinux: false },
  arch: 'x64',
  sourceKind: (p) => (p.endsWith('.txt') ? 'file' : p.startsWith('/missing') ? null : 'dir'),
  rootless: false,
  ...over,
});

function config(patch?: (c: Config) => void): Config {
  const c = parseConfig(JSON.parse(JSON.stringify(defaultSpec()))) as Config;
  c.process.args = ['echo', 'hi'];
  patch?.(c);
  return c;
}

const ops = (plan: Plan) => plan.map((s) => s.op);
const find = (plan: Plan, what: string) => plan.find((s) => s.what.includes(what));

test('the order the kernel needs: fifo, cgroup, namespaces, fork, mounts, pivot, user, ready, barrier, exec', () => {
  const plan = compileInitPlan(config(), ctx());
  const order = ops(plan);
  const at = (op: string) => order.indexOf(op as never);
  assert.equal(plan.slice(1, 4).map((s) => s.args), ctx().cgroupDirs.map((d) => [`${d}/tasks`, '0']), 'stage 1 joins each v1 cgroup itself, its one thread through tasks');
  assert.ok(at('OPEN') < at('WRITE_FILE') && at('WRITE_FILE') < at('UNSHARE') && at('UNSHARE') < at('FORK'));
  assert.ok(at('FORK') < at('MOUNT') && plan.findIndex((s) => s.what === 'remount / read-only') > at('PIVOT_ROOT'));
  assert.ok(plan.filter((s) => s.op === 'MOUNT' && s.args[5] !== Resolve.ABSOLUTE).every((s) => plan.indexOf(s) < at('PIVOT_ROOT')), 'rootfs mounts happen before pivot_root');
  assert.ok(at('PIVOT_ROOT') < at('SETUID') && at('SETUID') < at('LOOKUP') && at('LOOKUP') < at('READY'));
  assert.equal(order.slice(-3), ['READY', 'BARRIER', 'EXEC']);
});

test('one unshare for every new namespace; joins by path come first', () => {
  const plan = compileInitPlan(
    config((c) => {
      c.linux.namespaces = [{ type: 'mount' }, { type: 'network', path: '/proc/1/ns/net' }, { type: 'pid' }];
      c.hostname = undefined;
    }),
    ctx(),
  );
  const setns = plan.filter((s) => s.op === 'SETNS');
  assert.equal(setns.map((s) => s.args), [['/proc/1/ns/net', CLONE_FLAGS.network]]);
  const unshare = plan.find((s) => s.op === 'UNSHARE')!;
  assert.is(unshare.args[0], CLONE_FLAGS.mount | CLONE_FLAGS.pid);
  assert.ok(plan.indexOf(setns[0]!) < plan.indexOf(unshare));
  assert.not.ok(plan.some((s) => s.op === 'LOOPBACK_UP'), 'a joined network namespace is left as it is');
});

test('a new network namespace gets lo up, right after it is made; a restored one by a plan of its own', () => {
  const plan = compileInitPlan(config(), ctx());
  assert.is(plan[plan.findIndex((s) => s.op === 'UNSHARE') + 1]!.op, 'LOOPBACK_UP');
  assert.equal(
    loopbackPlan(42).map((s) => [s.op, ...s.args]),
    [['SETNS', '/proc/42/ns/net', CLONE_FLAGS.network], ['LOOPBACK_UP'], ['READY']],
  );
});

test('a namespace a field needs is asked for by path; time offsets go into a new time namespace before the fork', () => {
  assert.throws(() => compileInitPlan(config((c) => (c.linux.namespaces = [{ type: 'mount' }])), ctx()), /hostname: needs a uts namespace/);
  const plan = compileInitPlan(config((c) => (c.linux.namespaces.push({ type: 'time' }), (c.linux.timeOffsets = { boottime: { secs: 5, nanosecs: 1 } }))), ctx());
  const offsets = plan.findIndex((s) => s.op === 'WRITE_FILE' && s.args[0] === '/proc/self/timens_offsets');
  assert.equal(plan[offsets]!.args[1], 'boottime 5 1\n');
  assert.ok(offsets > plan.findIndex((s) => s.op === 'UNSHARE' && (Number(s.args[0]) & CLONE_FLAGS.time) !== 0) && offsets < plan.findIndex((s) => s.op === 'FORK'));
  assert.throws(() => compileInitPlan(config((c) => (c.linux.namespaces.push({ type: 'time', path: '/proc/1/ns/time' }), (c.linux.timeOffsets = { boottime: { secs: 5, nanosecs: 0 } }))), ctx()), /linux\.timeOffsets: needs a time namespace of the container's own/);
});

test('mount options become flags, propagation and data', () => {
  const p = parseMountOptions(['nosuid', 'noexec', 'ro', 'rw', 'strictatime', 'mode=755', 'rslave', 'size=1k'], 'tmpfs');
  assert.is(p.flags, MS.NOSUID | MS.NOEXEC | MS.STRICTATIME);
  assert.equal(p.propagation, [MS.SLAVE | MS.REC]);
  assert.equal(p.data, ['mode=755', 'size=1k']);
  assert.equal(parseMountOptions(['rbind', 'mode=755']).data, [], 'a bind has no file system to give data to');
  assert.equal(parseMountOptions(['lowerdir=/a', 'upperdir=/b'], 'overlay').data, ['lowerdir=/a', 'upperdir=/b'], "other types' words go to the kernel");
  assert.is(parseMountOptions(['iversion'], 'tmpfs').flags, MS.I_VERSION, 'iversion (a MUST of the spec): MS_I_VERSION');
  assert.is(parseMountOptions(['iversion', 'noiversion'], 'tmpfs').flags, 0);
});

test('recursive words become mount_setattr attributes; the later word wins, atime words set the field', () => {
  const r = (...o: string[]) => parseMountOptions(o).recursive;
  assert.equal(r('rro', 'rnosuid'), { set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID, clear: 0 });
  assert.equal(r('rro', 'rrw'), { set: 0, clear: MOUNT_ATTR.RDONLY });
  assert.equal(r('rnoatime'), { set: MOUNT_ATTR.NOATIME, clear: MOUNT_ATTR.ATIME_FIELD });
  assert.equal(r('rnoatime', 'rstrictatime'), { set: MOUNT_ATTR.STRICTATIME, clear: MOUNT_ATTR.ATIME_FIELD });
  const plan = compileInitPlan(config((c) => c.mounts.push({ destination: '/data', type: 'bind', source: '/b', options: ['rbind', 'rro', 'rnodev'] })), ctx());
  const i = plan.findIndex((s) => s.what === 'bind /b on /data');
  assert.equal(plan[i + 1], { op: 'MOUNT_SETATTR', what: 'set recursive mount attributes on /data', args: ['/data', Resolve.EXISTING, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NODEV, 0, 1] });
});

test('tmpcopyup: a tmpfs mounted with a copy of what it hides; only for tmpfs', () => {
  const plan = compileInitPlan(config((c) => c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'tmpcopyup', 'mode=755'] })), ctx());
  const copy = plan.find((s) => s.op === 'MOUNT_COPYUP')!;
  assert.equal(copy.args, ['tmpfs', '/etc', 'tmpfs', MS.NOSUID, 'mode=755', Resolve.DIR]);
  assert.throws(() => compileInitPlan(config((c) => c.mounts.push({ destination: '/p', type: 'proc', source: 'proc', options: ['tmpcopyup'] })), ctx()), /mounts\[\d+\]\.options\[0\]: tmpcopyup is for tmpfs mounts only/);
  assert.throws(() => compileInitPlan(config((c) => c.mounts.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['sizee=1k'] })), ctx()), /mounts\[\d+\]\.options\[0\]: "sizee=1k" is not a mount option berth knows for tmpfs/);
});

test('a file system mount: one MOUNT resolved in the rootfs, data passed through', () => {
  const plan = compileInitPlan(config(), ctx());
  const dev = find(plan, 'mount tmpfs on /dev')!;
  assert.equal(dev.args, ['tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k', Resolve.DIR]);
});

test('a read-only bind: bind, then a bind remount; a file source makes a file target', () => {
  const plan = compileInitPlan(config((c) => c.mounts.push({ destination: '/etc/hosts', type: 'bind', source: 'hosts.txt', options: ['rbind', 'ro', 'rprivate'] })), ctx());
  const i = plan.findIndex((s) => s.what === 'bind /b/hosts.txt on /etc/hosts');
  assert.equal(plan[i]!.args, ['/b/hosts.txt', '/etc/hosts', '', MS.BIND | MS.REC, '', Resolve.FILE]);
  assert.equal(plan[i + 1]!.args, ['', '/etc/hosts', '', MS.BIND | MS.REMOUNT | MS.RDONLY, '', Resolve.EXISTING]);
  assert.equal(plan[i + 2]!.args, ['', '/etc/hosts', '', MS.PRIVATE | MS.REC, '', Resolve.EXISTING]);
});

test('bind mount errors name the mount', () => {
  assert.throws(() => compileInitPlan(config((c) => c.mounts.push({ destination: '/x', type: 'bind', source: '/missing/x', options: ['bind'] })), ctx()), /mounts\[7\]\.source: "\/missing\/x" does not exist/);
  assert.throws(() => compileInitPlan(config((c) => c.mounts.push({ destination: '/x', type: 'bind', options: ['bind'] })), ctx()), /mounts\[7\]\.source: is required for a bind mount/);
  const ignored = compileInitPlan(config((c) => c.mounts.push({ destination: '/x', type: 'bind', source: '/d', options: ['bind', 'size=1'] })), ctx());
  assert.is(find(ignored, 'bind /d on /x')!.args[4], '', 'file-system words mean nothing to a bind mount');
});

test('cgroup mount on v1: a tmpfs, one cgroup mount per hierarchy, then read-only', () => {
  const plan = compileInitPlan(config(), ctx());
  const cg = plan.filter((s) => s.what.includes('cgroup') && s.op === 'MOUNT');
  assert.equal(cg.map((s) => s.args[1]), ['/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup']);
  assert.is(cg[1]!.args[4], 'memory');
  assert.is(cg[3]!.args[4], 'name=systemd');
});

test('without a cgroup namespace the container’s own cgroup folders are bound instead', () => {
  const plan = compileInitPlan(config((c) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'cgroup'))), ctx());
  assert.ok(find(plan, 'bind /sys/fs/cgroup/memory/c on /sys/fs/cgroup/memory'));
});

test('cgroup v2: one cgroup2 mount', () => {
  const plan = compileInitPlan(config(), ctx({ cgroupLayout: parseLayout(v1Mountinfo, 2), cgroupDirs: ['/sys/fs/cgroup/unified/c'] }));
  assert.ok(find(plan, 'mount cgroup2 on /sys/fs/cgroup'));
  assert.equal(find(plan, 'join the cgroup')!.args, ['/sys/fs/cgroup/unified/c/cgroup.procs', '0'], 'the process, not one thread: cgroup2 moves a thread alone only in a threaded subtree');
});

test('devices: the defaults, configured ones with their modes, links, and none when /dev is the host’s', () => {
  const plan = compileInitPlan(config((c) => c.linux.devices.push({ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600, uid: 5, gid: 6 })), ctx());
  const nodes = plan.filter((s) => s.op === 'MKNOD');
  assert.equal(nodes.map((s) => s.args[0]), ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/fuse']);
  assert.equal(nodes[6]!.args, ['/dev/fuse', 0o020000 | 0o600, 10, 229, 5, 6]);
  assert.ok(find(plan, 'link /dev/ptmx to pts/ptmx'));
  const hostDev = compileInitPlan(config((c) => c.mounts.push({ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] })), ctx());
  assert.is(hostDev.filter((s) => s.op === 'MKNOD' || s.op === 'SYMLINK').length, 0);
});

test('process: user, umask, the container’s PATH for lookup, argv and env to exec', () => {
  const plan = compileInitPlan(
    config((c) => {
      c.process.user = { uid: 1000, gid: 100, additionalGids: [10, 11], umask: 0o077 };
      c.process.env = ['PATH=/opt/bin:/bin', 'A=1'];
    }),
    ctx({ preserveFds: 2 }),
  );
  assert.equal(find(plan, 'set additional groups')!.args, [10, 11]);
  assert.equal(plan.find((s) => s.op === 'SETUID')!.args, [1000]);
  assert.equal(plan.find((s) => s.op === 'UMASK' && s.args[0] !== 0)!.args, [0o077]);
  assert.equal(plan.find((s) => s.op === 'LOOKUP')!.args, ['echo', '/opt/bin:/bin']);
  assert.equal(plan.find((s) => s.op === 'CLOSE_FDS')!.args, [5]);
  assert.equal(plan.at(-1)!.args, [2, 'echo', 'hi', 'PATH=/opt/bin:/bin', 'A=1']);
});

test('readonly root and --no-pivot', () => {
  const plan = compileInitPlan(config(), ctx({ noPivot: true }));
  assert.ok(plan.some((s) => s.op === 'MOVE_ROOT') && !plan.some((s) => s.op === 'PIVOT_ROOT'));
  const ro = find(plan, 'remount / read-only')!;
  assert.ok(plan.indexOf(ro) > plan.findIndex((s) => s.op === 'MOVE_ROOT'));
  assert.not.ok(find(compileInitPlan(config((c) => (c.root.readonly = false)), ctx()), 'remount / read-only'));
});

test('capabilities: names to masks; unknown names refused by path; the bounding set dropped before setuid', () => {
  const caps = { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] };
  const plan = compileInitPlan(config((c) => (c.process.capabilities = caps)), ctx());
  const bounding = plan.find((s) => s.op === 'BOUNDING')!;
  assert.equal(bounding.args, [(1n << 5n) | 1n, 40]);
  assert.equal(plan.find((s) => s.op === 'CAPSET')!.args, [1n << 5n, 1n << 5n, 1n << 5n]);
  const at = (op: string) => plan.findIndex((s) => s.op === op);
  assert.ok(at('BOUNDING') < at('SETUID') && at('SETUID') < at('CAPSET') && at('CAPSET') < at('AMBIENT'));
  assert.throws(() => compileInitPlan(config((c) => (c.process.capabilities = { bounding: ['CAP_NOPE'] })), ctx()), /process\.capabilities\.bounding\[0\]: unknown capability "CAP_NOPE"/);
  assert.equal(capabilityMasks({ bounding: ['CAP_CHECKPOINT_RESTORE'] }, 39).skipped, ['CAP_CHECKPOINT_RESTORE']);
  const amb = capabilityMasks({ permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN'] }, 40);
  assert.is(amb.masks.ambient, 1n << 5n, 'only what is permitted and inheritable can be ambient');
  assert.equal(amb.unraisable, ['CAP_CHOWN']);
});

test('rlimits: every RLIMIT_ name, infinity, soft above hard refused', () => {
  const plan = compileInitPlan(config((c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }, { type: 'RLIMIT_CORE', soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 }])), ctx());
  assert.equal(plan.filter((s) => s.op === 'RLIMIT').map((s) => s.args), [[7, 10n, 20n], [4, -1n, -1n]]);
  assert.throws(() => compileInitPlan(config((c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 30, hard: 20 }])), ctx()), /process\.rlimits\[0\]: soft limit 30 is above hard limit 20/);
  assert.throws(() => compileInitPlan(config((c) => (c.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }])), ctx()), /process\.rlimits\[0\]\.type: unknown rlimit "RLIMIT_FOO"/);
});

test('sysctl: only keys a namespace of the container confines', () => {
  const plan = compileInitPlan(config((c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '100' })), ctx());
  assert.equal(plan.filter((s) => s.what.startsWith('set sysctl')).map((s) => s.args), [['/proc/sys/net/ipv4/ip_forward', '1'], ['/proc/sys/kernel/shmmax', '100']]);
  assert.throws(() => compileInitPlan(config((c) => (c.linux.sysctl = { 'vm.swappiness': '1' })), ctx()), /linux\.sysctl\.vm\.swappiness: is not confined by a namespace/);
  assert.throws(() => compileInitPlan(config((c) => {
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network');
  }), ctx()), /needs a network namespace/);
});

test('masked and read-only paths come after pivot_root, read-only first', () => {
  const plan = compileInitPlan(config(), ctx());
  const at = (op: string) => plan.findIndex((s) => s.op === op);
  assert.ok(at('PIVOT_ROOT') < at('READONLY') && at('READONLY') < at('MASK'));
  assert.is(plan.filter((s) => s.op === 'MASK').length, 10);
});

test('no mount namespace: no propagation change, no self-bind, chroot; read-only root refused', () => {
  const hostMounts = (c: Config) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount');
    c.linux.maskedPaths = [];
    c.linux.readonlyPaths = [];
    c.root.readonly = false;
  };
  const plan = compileInitPlan(config(hostMounts), ctx());
  assert.not.ok(plan.some((s) => s.op === 'PROPAGATE_PARENT' || s.what.includes('onto itself') || s.args[1] === '/'));
  assert.ok(plan.some((s) => s.op === 'CHROOT') && !plan.some((s) => s.op === 'PIVOT_ROOT'));
  assert.throws(() => compileInitPlan(config((c) => { hostMounts(c); c.root.readonly = true; }), ctx()), /root\.readonly: needs a mount namespace/);
});

test('rootfs propagation: shared is set on / only after pivot_root', () => {
  const plan = compileInitPlan(config((c) => (c.linux.rootfsPropagation = 'shared')), ctx());
  const setRoot = plan.filter((s) => s.op === 'MOUNT' && s.args[1] === '/');
  assert.equal(setRoot.map((s) => s.args[3]), [MS.SHARED, MS.SHARED]);
  assert.ok(plan.indexOf(setRoot[1]!) > plan.findIndex((s) => s.op === 'PIVOT_ROOT'));
  assert.equal(plan.find((s) => s.op === 'PROPAGATE_PARENT')!.args[1], MS.PRIVATE);
});

test('user namespace first, maps written by berth, then root of it; devices bound from the host', () => {
  const plan = compileInitPlan(
    config((c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 100 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 100 }];
    }),
    ctx(),
  );
  assert.equal(ops(plan).slice(4, 7), ['UNSHARE', 'SYNC', 'UNSHARE']);
  assert.is(plan[4]!.args[0], CLONE_FLAGS.user);
  const rootOpen = plan.findIndex((s) => s.op === 'OPEN' && s.args[0] === Slot.ROOT);
  assert.equal(ops(plan).slice(rootOpen + 1, rootOpen + 3), ['SETGID', 'SETUID'], 'root of the user namespace once the rootfs is open');
  assert.not.ok(plan.some((s) => s.op === 'MKNOD'));
  assert.ok(find(plan, "bind the host's /dev/null"));
  assert.is(idMapText([{ containerID: 0, hostID: 1000, size: 100 }, { containerID: 100, hostID: 5000, size: 1 }]), '0 1000 100\n100 5000 1\n');
  assert.throws(() => compileInitPlan(config((c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 1, hostID: 1000, size: 1 }]; }), ctx()), /linux\.uidMappings: must map container uid 0/);
  assert.throws(() => compileInitPlan(config((c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }])), ctx()), /linux\.uidMappings: needs a user namespace/);
});

test('AppArmor and SELinux where the host has them: the exec labelled, the mounts given a context', () => {
  const labelled = (c: Config) => {
    c.process.apparmorProfile = 'berth-default';
    c.process.selinuxLabel = 'system_u:system_r:container_t:s0';
    c.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
  };
  const none = compileInitPlan(config(labelled), ctx());
  assert.not.ok(none.some((s) => s.what.includes('AppArmor') || s.what.includes('label the exec') || String(s.args[4]).includes('context=')));
  const both = compileInitPlan(config(labelled), ctx({ lsm: { apparmor: true, selinux: true } }));
  assert.equal(find(both, 'AppArmor')!.args, ['/proc/self/attr/apparmor/exec', 'exec berth-default']);
  assert.equal(find(both, 'label the exec')!.args, ['/proc/self/attr/exec', 'system_u:system_r:container_t:s0']);
  assert.is(find(both, 'mount tmpfs on /dev')!.args[4], 'mode=755,size=65536k,context="system_u:object_r:container_file_t:s0"');
  assert.not.ok(String(find(both, 'mount proc on /proc')!.args[4]).includes('context='), 'proc takes no context=');
  assert.equal(ignoredLsmFields(config(labelled), { apparmor: false, selinux: false }).length, 3);
});

test('a terminal: a pty made right after pivot_root, its master sent over the console socket fd, bound over /dev/console', () => {
  const c = config((c) => ((c.process.terminal = true), (c.process.consoleSize = { height: 24, width: 80 })));
  const plan = compileInitPlan(c, ctx({ preserveFds: 1 }));
  const tty = plan.find((s) => s.op === 'TERMINAL')!;
  assert.equal(tty.args, [5, 24, 80, 0, 0, 1], 'the console fd comes after stdio, one preserved fd and the sync socket; 1: bound over /dev/console');
  assert.ok(plan.indexOf(tty) > plan.findIndex((s) => s.op === 'PIVOT_ROOT') && plan.indexOf(tty) < plan.findIndex((s) => s.op === 'SETUID'));
  const console = plan.findIndex((s) => s.op === 'MOUNTPOINT' && s.args[0] === '/dev/console');
  assert.ok(console >= 0 && console < plan.findIndex((s) => s.op === 'PIVOT_ROOT'), '/dev/console is made before pivot_root (and a read-only root)');
  const exec = compileExecPlan(c, c.process, { pid: 42, cgroup: null, preserveFds: 0, lastCap: 40, arch: 'x64', lsm: { apparmor: false, selinux: false } });
  assert.is(exec.find((s) => s.op === 'TERMINAL')!.args.at(-1), 0, "an exec'd process's terminal is not the console");
});

test('exec: joins the container process’s namespaces (user first, mount last), its cgroup, then forks', () => {
  const c = config((x) => x.linux.namespaces.push({ type: 'user' }));
  const plan = compileExecPlan(c, c.process, { pid: 42, cgroup: { version: 1, dirs: ['/sys/fs/cgroup/pids/c'] }, preserveFds: 0, lastCap: 40, arch: 'x64', lsm: { apparmor: false, selinux: false } });
  assert.equal(plan[0]!.args, ['/sys/fs/cgroup/pids/c/tasks', '0']);
  const joins = plan.filter((s) => s.op === 'SETNS').map((s) => s.args[0]);
  assert.equal(joins, ['/proc/42/ns/user', '/proc/42/ns/ipc', '/proc/42/ns/uts', '/proc/42/ns/net', '/proc/42/ns/pid', '/proc/42/ns/cgroup', '/proc/42/ns/mnt']);
  assert.equal(ops(plan).slice(-2), ['READY', 'EXEC'], 'no start barrier');
  assert.ok(ops(plan).indexOf('FORK') > ops(plan).lastIndexOf('SETNS'));
});


test('features tells what the compilers take: every mount option, namespace, hook kind and capability it lists compiles', () => {
  const f = features();
  for (const option of f.mountOptions) {
    const bindOnly = /^r?bind$|^r?idmap$/.test(option);
    const c = config((x) => {
      x.mounts.push(bindOnly ? { destination: '/x', type: 'bind', source: '/b/data', options: [option] } : { destination: '/x', type: 'tmpfs', source: 'tmpfs', options: [option] });
      if (option.endsWith('idmap')) (x.linux.namespaces.push({ type: 'user' }), (x.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), (x.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]));
    });
    try {
      compileInitPlan(c, ctx());
    } catch (e) {
      assert.unreachable(`mount option ${option}: ${(e as Error).message}`);
    }
  }
  for (const type of f.linux.namespaces) {
    const c = config((x) => {
      x.linux.namespaces = [...x.linux.namespaces.filter((n) => n.type !== type), { type: type as NamespaceType }];
      if (type === 'user') (x.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), (x.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]);
    });
    assert.ok(compileInitPlan(c, ctx()).length > 0, type);
  }
  for (const kind of f.hooks) assert.ok(parseConfig({ ...defaultSpec(), hooks: { [kind]: [{ path: '/bin/true' }] } }).hooks?.[kind as HookKind]?.length, kind);
  assert.is(capabilityMasks({ bounding: f.linux.capabilities }, 40).skipped.length, 0, 'every capability listed is applied');
  assert.equal(f.linux.mountExtensions, { idmap: { enabled: !rootless() } });
  assert.is(f.mountOptions.includes('idmap') && f.mountOptions.includes('ridmap'), !rootless());
  const moving = parseConfig({ ...defaultSpec(), linux: { ...defaultSpec().linux, netDevices: { eth1: { name: 'ctr%d' } } } });
  if (f.linux.netDevices.enabled) assert.ok(compileInitPlan(moving, ctx()).some((s) => s.op === 'SYNC' && s.args[0] === SyncTag.NET_DEVICES));
  for (const mode of f.linux.memoryPolicy.modes)
    for (const flag of f.linux.memoryPolicy.flags) {
      const nodes = mode === 'MPOL_DEFAULT' || mode === 'MPOL_LOCAL' ? undefined : '0';
      const c = parseConfig({ ...defaultSpec(), linux: { ...defaultSpec().linux, memoryPolicy: { mode, nodes, flags: [flag] } } });
      assert.ok(compileInitPlan(c, ctx()).some((s) => s.op === 'MEMPOLICY'), `${mode} ${flag}`);
    }
});

test('linux.memoryPolicy: mode and flags in one number, the nodes as the kernel\'s mask', () => {
  const plan = compileInitPlan(parseConfig({ ...defaultSpec(), linux: { ...defaultSpec().linux, memoryPolicy: { mode: 'MPOL_INTERLEAVE', nodes: '0-2,9', flags: ['MPOL_F_STATIC_NODES'] } } }), ctx());
  const [mode, mask] = plan.find((s) => s.op === 'MEMPOLICY')!.args as [number, Buffer];
  assert.is(mode, 3 | (1 << 15));
  assert.is(mask.length, 128, '1024 nodes, the most a kernel has');
  assert.equal([...mask.subarray(0, 3)], [0b111, 0b10, 0]);
  assert.ok(ops(plan).indexOf('MEMPOLICY') < ops(plan).indexOf('READY'));
});

test.run();
