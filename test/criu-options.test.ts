// What berth tells CRIU, without CRIU or root: the protobuf wire format of its RPC, the mapping of
// config.json + state + runc's flags to criu_opts, and the one-line reason of a failed `criu check`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CgroupLayout } from '../native/cgroups/layout.js';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCriu, checkFailure, checkFailureReason, locateBinary } from '../native/criu/check.js';
import { firstError } from '../native/criu/log.js';
import { dumpOptions, restoreOptions, type DumpInput, type RestoreInput } from '../native/criu/options.js';
import { decode, encode, type Schema } from '../native/protobuf.js';
import { decodeResponse, encodeRequest } from '../native/criu/rpc.js';
import { defaultSpec } from '../native/spec/defaults.js';
import type { Config } from '../native/spec/config.js';

const test = suite('criu options');

const layout: CgroupLayout = {
  version: 1,
  v1: [
    { mountPoint: '/sys/fs/cgroup/cpu', controllers: ['cpu'] },
    { mountPoint: '/sys/fs/cgroup/freezer', controllers: ['freezer'] },
    { mountPoint: '/sys/fs/cgroup/systemd', controllers: ['name=systemd'] },
  ],
  unified: '/sys/fs/cgroup/unified',
};
const cgroupOf = (name: string) => ({ layout, paths: layout.v1.map((h) => `${h.mountPoint}/${name}`) });

function config(patch?: (c: Config) => void): Config {
  const c = defaultSpec();
  c.root.path = '/bundles/a/rootfs';
  patch?.(c);
  return c;
}

function dumpInput(over: Partial<DumpInput> = {}): DumpInput {
  return {
    config: config(),
    pid: 4242,
    rootfs: '/bundles/a/rootfs',
    cgroup: cgroupOf('berth-a'),
    stdio: [],
    containerMountIds: [100, 101, 102],
    namespaceInodes: {},
    flags: {},
    ...over,
  };
}

function restoreInput(over: Partial<RestoreInput> = {}): RestoreInput {
  return { config: config(), bundle: '/bundles/b', root: '/run/berth/b/criu-root', cgroup: cgroupOf('berth-b'), stdio: [], flags: {}, ...over };
}

test('protobuf: the bytes of a request, negative int32s, nested and repeated fields, unknown fields skipped', () => {
  // criu_req { type: DUMP, opts { images_dir_fd: 5 } }
  assert.equal([...encodeRequest('DUMP', { imagesDirFd: 5 })], [0x08, 0x01, 0x12, 0x02, 0x08, 0x05]);
  const schema: Schema = {
    n: { number: 1, type: 'int32' },
    s: { number: 2, type: 'string', repeated: true },
    m: { number: 3, type: { b: { number: 1, type: 'bool' }, u: { number: 2, type: 'uint32' } }, repeated: true },
  };
  const value = { n: -1, s: ['a', 'mnt[/x]:/x'], m: [{ b: true, u: 0x80000000 }, { b: false }] };
  const bytes = encode(schema, value);
  assert.is(bytes.subarray(0, 11).toString('hex'), '08ffffffffffffffffff01', 'a negative int32 is ten bytes');
  assert.equal(decode(schema, bytes), value);
  assert.equal(decode({ s: schema.s! }, bytes), { s: value.s }, 'fields the schema does not name are skipped');
  assert.throws(() => decode(schema, Buffer.from([0x08])), /truncated/);
});

test('protobuf: a failed response carries CRIU\'s errno and first error', () => {
  // criu_resp { type: DUMP, success: false, cr_errno: 3, cr_errmsg: "no" }
  const resp = decodeResponse(Buffer.from([0x08, 0x01, 0x10, 0x00, 0x38, 0x03, 0x4a, 0x02, 0x6e, 0x6f]));
  assert.equal(resp, { type: 1, success: false, crErrno: 3, crErrmsg: 'no' });
  // a restore's pid and a notification
  assert.equal(decodeResponse(Buffer.from([0x08, 0x02, 0x10, 0x01, 0x22, 0x02, 0x08, 0x2a])).restore, { pid: 42 });
  const notify = encode({ script: { number: 1, type: 'string' }, pid: { number: 2, type: 'int32' } }, { script: 'post-restore', pid: 7 });
  assert.equal(decodeResponse(Buffer.concat([Buffer.from([0x08, 0x06, 0x10, 0x01, 0x2a, notify.length]), notify])).notify, { script: 'post-restore', pid: 7 });
});

test('dump: the process, its root, its cgroup (berth\'s hierarchies only, frozen through the freezer)', () => {
  const { type, opts } = dumpOptions(dumpInput());
  assert.is(type, 'DUMP');
  assert.is(opts.pid, 4242);
  assert.is(opts.root, '/bundles/a/rootfs');
  assert.is(opts.logFile, 'dump.log');
  assert.is(opts.freezeCgroup, '/sys/fs/cgroup/freezer/berth-a');
  assert.equal(opts.cgroupDumpController, ['cpu', 'freezer', 'name=systemd']);
  assert.is(opts.manageCgroups, true);
  assert.is(opts.manageCgroupsMode, undefined, 'CRIU\'s default mode unless asked');
  assert.is(opts.orphanPtsMaster, true);
  assert.equal(opts.external, [], 'the default config has nothing outside the container');
});

test('dump: binds, cgroup folders bound without a cgroup namespace, and joined net/pid namespaces are external', () => {
  const c = config((c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind'] });
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'cgroup');
    c.linux.namespaces.find((n) => n.type === 'network')!.path = '/run/netns/blue';
    c.linux.namespaces.find((n) => n.type === 'ipc')!.path = '/proc/1/ns/ipc';
  });
  const { opts } = dumpOptions(dumpInput({ config: c, namespaceInodes: { network: 4026532000, ipc: 4026531839 } }));
  assert.equal(opts.external, [
    'mnt[/sys/fs/cgroup/cpu]:/sys/fs/cgroup/cpu',
    'mnt[/sys/fs/cgroup/freezer]:/sys/fs/cgroup/freezer',
    'mnt[/sys/fs/cgroup/systemd]:/sys/fs/cgroup/systemd',
    'mnt[/data]:/data',
    'net[4026532000]:extRootNetNS',
  ]);
});

test('dump: stdio that leads outside is keyed (pipes by inode, host files as external files); the container\'s own is dumped whole', () => {
  const { opts, stdio } = dumpOptions(
    dumpInput({
      stdio: [
        { fd: 0, link: '/dev/null', mntId: 23, inode: 5 },
        { fd: 1, link: 'pipe:[777]', mntId: 14, inode: 777 },
        { fd: 2, link: '/dev/pts/0', mntId: 101, inode: 3 },
      ],
    }),
  );
  assert.equal(stdio, [
    { fd: 0, key: 'file[17:5]' },
    { fd: 1, key: 'pipe:[777]' },
  ]);
  assert.equal(opts.external, ['file[17:5]']);
});

test('dump: runc\'s flags', () => {
  const { type, opts } = dumpOptions(
    dumpInput({ flags: { leaveRunning: true, tcpEstablished: true, extUnixSk: true, shellJob: true, fileLocks: true, manageCgroupsMode: 'full', emptyNs: ['network'], parentPath: '../pre' } }),
  );
  assert.is(type, 'DUMP');
  assert.is(opts.leaveRunning, true);
  assert.is(opts.tcpEstablished, true);
  assert.is(opts.extUnixSk, true);
  assert.is(opts.shellJob, true);
  assert.is(opts.fileLocks, true);
  assert.is(opts.manageCgroupsMode, 4);
  assert.is(opts.emptyNs, 0x40000000);
  assert.is(opts.parentImg, '../pre');
  assert.is(opts.trackMem, true);
  const pre = dumpOptions(dumpInput({ flags: { preDump: true } }));
  assert.is(pre.type, 'PRE_DUMP');
  assert.is(pre.opts.trackMem, true);
  assert.throws(() => dumpOptions(dumpInput({ flags: { emptyNs: ['nope'] } })), /--empty-ns: namespace "nope" is not supported/);
  assert.throws(() => dumpOptions(dumpInput({ flags: { manageCgroupsMode: 'loose' as 'soft' } })), /invalid --manage-cgroups-mode "loose": ignore, soft, full, strict/);
});

test('dump and restore refuse a cgroup namespace joined by path (CRIU cannot)', () => {
  const c = config((c) => (c.linux.namespaces.find((n) => n.type === 'cgroup')!.path = '/proc/1/ns/cgroup'));
  assert.throws(() => dumpOptions(dumpInput({ config: c })), /joins a cgroup namespace by path/);
  assert.throws(() => restoreOptions(restoreInput({ config: c })), /joins a cgroup namespace by path/);
});

test('restore: into the new root and cgroup, as berth\'s child, with the terminal\'s master sent back', () => {
  const { opts, passFiles } = restoreOptions(restoreInput());
  assert.is(opts.root, '/run/berth/b/criu-root');
  assert.is(opts.logFile, 'restore.log');
  assert.is(opts.rstSibling, true);
  assert.is(opts.notifyScripts, true);
  assert.is(opts.orphanPtsMaster, true);
  assert.equal(opts.cgRoot, [
    { ctrl: 'cpu', path: '/berth-b' },
    { ctrl: 'freezer', path: '/berth-b' },
    { ctrl: 'name=systemd', path: '/berth-b' },
  ]);
  assert.equal(passFiles, []);
  assert.is(opts.inheritFd, undefined);
  const v2 = restoreOptions(restoreInput({ cgroup: { layout: { ...layout, version: 2 }, paths: ['/sys/fs/cgroup/unified/x/berth-b'] } }));
  assert.equal(v2.opts.cgRoot, [{ path: '/x/berth-b' }]);
});

test('restore: external mounts lead to today\'s sources, stdio and joined namespaces are inherited, others joined', () => {
  const c = config((c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind'] });
    c.mounts.push({ destination: '/etc/hosts', source: '/srv/hosts', options: ['bind', 'ro'] });
    c.linux.namespaces.find((n) => n.type === 'network')!.path = '/run/netns/blue';
    c.linux.namespaces.find((n) => n.type === 'uts')!.path = '/proc/1/ns/uts';
  });
  const { opts, passFiles } = restoreOptions(restoreInput({ config: c, stdio: [{ fd: 0, key: 'file[17:5]' }, { fd: 1, key: 'pipe:[777]' }] }));
  assert.equal(opts.external, ['mnt[/data]:/bundles/b/data', 'mnt[/etc/hosts]:/srv/hosts']);
  assert.equal(opts.inheritFd, [
    { key: 'file[17:5]', fd: 0 },
    { key: 'pipe:[777]', fd: 1 },
    { key: 'extRootNetNS', fd: 4 },
  ]);
  assert.equal(passFiles, ['/run/netns/blue']);
  assert.equal(opts.joinNs, [{ ns: 'uts', nsFile: '/proc/1/ns/uts' }]);
});

test('a user namespace: the host\'s device nodes bound in are external too', () => {
  const c = config((c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }];
  });
  const { opts } = dumpOptions(dumpInput({ config: c }));
  assert.equal(opts.external, ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/fuse'].map((d) => `mnt[${d}]:${d}`));
  assert.equal(restoreOptions(restoreInput({ config: c })).opts.external, opts.external);
});

test('criu check: one line with CRIU\'s first error, and advice where the cause is known', () => {
  const debian = [
    'Warn  (criu/kerndat.c:1799): Hardware breakpoints don\'t seem to work (status=137f)',
    'Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable',
    'Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.',
  ].join('\n');
  assert.is(checkFailureReason(debian), 'vdso: Failed to fill self vdso symtable');
  assert.is(
    checkFailure('/usr/sbin/criu', '3.17.1', debian, '6.18.0-1-amd64'),
    'criu check failed: vdso: Failed to fill self vdso symtable (/usr/sbin/criu, CRIU 3.17.1): CRIU 4.1 or newer is needed on Linux 6.13 and later (the [vvar_vclock] mapping)',
  );
  assert.is(checkFailure('/usr/sbin/criu', '3.17.1', debian, '6.1.0'), 'criu check failed: vdso: Failed to fill self vdso symtable (/usr/sbin/criu, CRIU 3.17.1)', 'no advice on an older kernel');
  assert.is(checkFailureReason('(00.001) Error (criu/cr-check.c:9): seccomp: not supported\n'), 'seccomp: not supported', 'log lines with a time stamp');
  assert.is(checkFailureReason('Looks bad.\nSomething is missing\n'), 'Something is missing');
  assert.is(locateBinary('sh', '/nonexistent:/bin'), '/bin/sh');
  assert.is(locateBinary('no-such-criu', '/bin'), null);
});

test('criu check: a pass is remembered for the same binary on this boot, a failure is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-criu-check-'));
  try {
    const script = (name: string, status: number) => {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\necho "$1" >> ${path}.calls\n[ "$1" = --version ] && { echo "Version: 9.9"; exit 0; }\necho "Error (x.c:1): nope" >&2\nexit ${status}\n`);
      chmodSync(path, 0o755);
      return path;
    };
    const calls = (path: string) => readFileSync(`${path}.calls`, 'utf8').trim().split('\n');
    const good = script('good-criu', 0);
    const root = join(dir, 'root');
    assert.is(await checkCriu(good, root), good);
    assert.is(await checkCriu(`${dir}/./good-criu`, root), good, 'another name, the same binary: not run again');
    assert.equal(calls(good), ['check']);
    const bad = script('bad-criu', 1);
    const failure = (p: Promise<unknown>) => p.then(() => 'passed', (e: Error) => e.message);
    assert.is(await failure(checkCriu(bad, root)), `criu check failed: nope (${bad}, CRIU 9.9)`);
    assert.is(await failure(checkCriu(`${dir}/./bad-criu`, root)), `criu check failed: nope (${bad}, CRIU 9.9)`);
    assert.equal(calls(bad), ['check', '--version', 'check', '--version']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failure\'s reason: the first error in CRIU\'s log that is not a kernel probe', () => {
  const log = [
    '(00.025057) Error (criu/tun.c:85): tun: Unable to create tun: Operation not permitted',
    '(00.084280) Error (criu/util.c:1534): rlimit: Can\'t setup RLIMIT_NOFILE for self: Operation not permitted',
    '(00.084823) Reading image tree',
    '(00.614288) Error (criu/cr-restore.c:1274): 14296 stopped by signal 11: Segmentation fault',
    '(00.621189) Error (criu/cr-restore.c:2324): Restoring FAILED.',
  ].join('\n');
  assert.is(firstError(log), '14296 stopped by signal 11: Segmentation fault');
  assert.is(firstError(log.split('\n').slice(0, 3).join('\n')), null);
});

test.run();
