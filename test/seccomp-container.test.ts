// linux.seccomp in a real container: the filter is loaded, denies what the profile denies, and
// leaves berth-init nothing to do after it but execve.
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSeccomp } from '../native/compile/seccomp.js';
import { architectures } from '../native/compile/seccomp/architectures.js';
import { BPF } from '../native/compile/seccomp/bpf.js';
import type { Seccomp } from '../native/spec/config.js';
import { berth, type ConfigPatch, isRoot, makeBundle, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('seccomp container');
const { dir, root, rootfs } = workspace(test);

const denyMkdir = (errnoRet: number): Seccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  flags: [],
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet, args: [] }],
});

function run(args: string[], seccomp: Seccomp, patch?: ConfigPatch) {
  const id = uniqueId('seccomp');
  const bundle = makeBundle(join(dir, id), rootfs, args, (c) => {
    c.root.readonly = false;
    c.linux.seccomp = seccomp;
    patch?.(c);
  });
  return berth(root, ['run', '--bundle', bundle, id]);
}

const script = 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/x';

test('a denied mkdir fails with the configured errno; the process is in filter mode', () => {
  const eperm = run(['sh', '-c', script], denyMkdir(1));
  assert.is(eperm.stdout, 'Seccomp:\t2\n');
  assert.is(eperm.stderr, "mkdir: can't create directory '/tmp/x': Operation not permitted\n");
  assert.is(eperm.status, 1);
  const enosys = run(['sh', '-c', script], denyMkdir(38));
  assert.is(enosys.stderr, "mkdir: can't create directory '/tmp/x': Function not implemented\n");
});

test('without no_new_privs the filter is loaded while CAP_SYS_ADMIN is still there', () => {
  const r = run(['sh', '-c', `${script}; grep "^NoNewPrivs:" /proc/self/status`], denyMkdir(1), (c) => (c.process.noNewPrivileges = false));
  assert.is(r.stdout, 'Seccomp:\t2\nNoNewPrivs:\t0\n');
  assert.match(r.stderr, /Operation not permitted/);
});

test('after the filter berth-init makes no syscall but execve', () => {
  // Syscalls berth-init makes before exec, fatal once the filter is in (busybox true needs none of
  // them; it calls prctl and brk itself, so those cannot be tested this way).
  const fatal = ['read', 'write', 'close', 'sendto', 'close_range', 'umask', 'mmap', 'munmap', 'capset', 'setresuid', 'setgroups', 'chdir'];
  const r = run(['true'], { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], flags: [], syscalls: [{ names: fatal, action: 'SCMP_ACT_KILL_PROCESS', args: [] }] });
  assert.is(r.status, 0, r.stderr);
});

test('a long filter, with far jumps, loads and filters', () => {
  // Rules that never match (arguments no syscall here gets), on 200 syscalls: a program past 255 instructions.
  const never = Object.keys(architectures.SCMP_ARCH_X86_64!.syscalls)
    .slice(0, 200)
    .map((name, i) => ({ names: [name], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: i % 6, op: 'SCMP_CMP_EQ', value: 0xdead * 2 ** 32 + i, valueTwo: 0 }] }));
  const long = { ...denyMkdir(1), syscalls: [...never, ...denyMkdir(1).syscalls] };
  const { program } = compileSeccomp(long, process.arch);
  assert.ok(program.length / 8 > 1000 && program.some((_, i) => i % 8 === 0 && program.readUInt16LE(i) === BPF.JA), 'long, with ja');
  const r = run(['sh', '-c', script], long);
  assert.is(r.stdout, 'Seccomp:\t2\n');
  assert.match(r.stderr, /Operation not permitted/);
});

test('a syscall the profile kills for kills the process (SIGSYS)', () => {
  const r = run(['sh', '-c', 'mkdir /tmp/y'], { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], flags: [], syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS', args: [] }] });
  assert.is(r.status, 128 + 31);
});

test('a bad profile fails create, naming the config path', () => {
  const r = run(['true'], { ...denyMkdir(1), syscalls: [{ names: ['mkdir', 'nosuchcall'], action: 'SCMP_ACT_ERRNO', args: [] }] });
  assert.is(r.status, 1);
  assert.match(r.stderr, /linux\.seccomp\.syscalls\[0\]\.names\[1\]: unknown syscall "nosuchcall"/);
});

if (isRoot) test.run();
else console.log('seccomp container: skipped (needs root)');
