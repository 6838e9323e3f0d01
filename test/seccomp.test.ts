// The seccomp compiler: profiles in, BPF out, run on seccomp_data by a small interpreter — and
// compared, verdict by verdict, with the filter libseccomp (as runc drives it) makes of the same profile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseLayout } from '../native/cgroups/layout.js';
import type { CompileContext } from '../native/compile/context.js';
import { compileInitPlan } from '../native/compile/initPlan.js';
import { compileSeccomp } from '../native/compile/seccomp.js';
import { architectures } from '../native/compile/seccomp/architectures.js';
import { BPF } from '../native/compile/seccomp/bpf.js';
import { compileExecPlan } from '../native/compile/execPlan.js';
import { encodePlan, SyncTag } from '../native/plan.js';
import type { ConfigWithProcess as Config, Seccomp, SeccompArg, SeccompSyscall } from '../native/spec/config.js';
import { defaultSpec } from '../native/spec/defaults.js';
import { features } from '../native/spec/features.js';
import { parseConfig } from '../native/spec/validate.js';
import { runFilter, type SeccompData } from './helpers/bpf.js';
import { buildExporter, libseccompFilter } from './helpers/libseccomp.js';

const X86_64 = architectures.SCMP_ARCH_X86_64!;
const X86 = architectures.SCMP_ARCH_X86!;
const X32 = architectures.SCMP_ARCH_X32!;
const AARCH64 = architectures.SCMP_ARCH_AARCH64!;
const AUDIT_ARCH_ARM = 0x40000028;

const RET = { KILL_THREAD: 0, KILL_PROCESS: 0x80000000, TRAP: 0x00030000, ERRNO: 0x00050000, USER_NOTIF: 0x7fc00000, TRACE: 0x7ff00000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000 };
const EPERM = 1;
const ENOSYS = 38;

const profile = (over: Partial<Seccomp> = {}): Seccomp => ({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [], flags: [], syscalls: [], ...over });
const rule = (names: string[], action: string, over: Partial<SeccompSyscall> = {}): SeccompSyscall => ({ names, action, args: [], ...over });
const arg = (index: number, op: string, value: number, valueTwo = 0): SeccompArg => ({ index, op, value, valueTwo });

/** The verdict of P's filter for syscall NAME (or number) on ARCH. */
function verdict(p: Seccomp, nr: string | number, args: bigint[] = [], arch = X86_64): number {
  const number = typeof nr === 'number' ? nr : arch.syscalls[nr]!;
  return runFilter(compileSeccomp(p, 'x64').program, { nr: number, arch: arch.audit, args });
}

/** A config.json with PROFILE, through the validator. */
function config(seccomp: unknown, patch?: (c: Config) => void): Config {
  const raw = JSON.parse(JSON.stringify(defaultSpec()));
  raw.linux.seccomp = seccomp;
  const c = parseConfig(raw) as Config;
  patch?.(c);
  return c;
}

const compileConfig = (seccomp: unknown) => compileSeccomp(config(seccomp).linux.seccomp!, 'x64');

test('actions: return values, errnoRet, EPERM when it is absent, defaultErrnoRet for the default', () => {
  const p = profile({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 13,
    syscalls: [
      rule(['mkdir'], 'SCMP_ACT_ERRNO', { errnoRet: ENOSYS }),
      rule(['rmdir'], 'SCMP_ACT_ERRNO'),
      rule(['ptrace'], 'SCMP_ACT_KILL_PROCESS'),
      rule(['reboot'], 'SCMP_ACT_KILL'),
      rule(['kexec_load'], 'SCMP_ACT_KILL_THREAD'),
      rule(['swapon'], 'SCMP_ACT_TRAP'),
      rule(['getpid'], 'SCMP_ACT_TRACE', { errnoRet: 7 }),
      rule(['getppid'], 'SCMP_ACT_TRACE'),
      rule(['uname'], 'SCMP_ACT_LOG'),
      rule(['read'], 'SCMP_ACT_ALLOW'),
      rule(['mknod'], 'SCMP_ACT_NOTIFY'),
    ],
    listenerPath: '/run/agent.sock',
  });
  const expected: [string, number][] = [
    ['mkdir', RET.ERRNO | ENOSYS], ['rmdir', RET.ERRNO | EPERM], ['ptrace', RET.KILL_PROCESS], ['reboot', RET.KILL_THREAD],
    ['kexec_load', RET.KILL_THREAD], ['swapon', RET.TRAP], ['getpid', RET.TRACE | 7], ['getppid', RET.TRACE | EPERM],
    ['uname', RET.LOG], ['read', RET.ALLOW], ['mknod', RET.USER_NOTIF], ['write', RET.ERRNO | 13],
  ];
  for (const [name, ret] of expected) assert.is(verdict(p, name) >>> 0, ret >>> 0, name);
  assert.is(verdict(profile({ defaultAction: 'SCMP_ACT_ERRNO' }), 'write'), RET.ERRNO | EPERM);
});

test('the arch check: unlisted architectures and x32 calls through an x86_64-only filter are killed; -1 is not', () => {
  const p = profile({ syscalls: [rule(['mkdir'], 'SCMP_ACT_ERRNO')] });
  assert.is(verdict(p, 'read', [], X86_64), RET.ALLOW);
  for (const arch of [X86.audit, AARCH64.audit, AUDIT_ARCH_ARM]) assert.is(runFilter(compileSeccomp(p, 'x64').program, { nr: 0, arch }), RET.KILL_THREAD, `arch 0x${arch.toString(16)}`);
  // x32's mkdir is 0x40000053: the x32 bit must not make it an x86_64 mkdir nor let it through.
  assert.is(verdict(p, X32.syscalls.mkdir!, [], X86_64), RET.KILL_THREAD);
  assert.is(verdict(p, 0x40000000, [], X86_64), RET.KILL_THREAD);
  assert.is(verdict(p, -1, [], X86_64), RET.ALLOW, '-1 (a skipped syscall) gets the default action');
  const withX32 = profile({ architectures: ['SCMP_ARCH_X32'], syscalls: [rule(['mkdir'], 'SCMP_ACT_ERRNO')] });
  assert.is(verdict(withX32, X32.syscalls.mkdir!), RET.ERRNO | EPERM);
  assert.is(verdict(withX32, X32.syscalls.read!), RET.ALLOW);
  assert.is(verdict(withX32, 'mkdir'), RET.ERRNO | EPERM, 'the native architecture stays in the filter');
  const onlyX32 = profile({ architectures: ['SCMP_ARCH_X32'] });
  assert.is(runFilter(compileSeccomp(onlyX32, 'arm64').program, { nr: 0, arch: X86_64.audit }), RET.KILL_THREAD, 'x86_64 calls, with only x32 listed');
  assert.is(runFilter(compileSeccomp(onlyX32, 'arm64').program, { nr: X32.syscalls.read!, arch: X86_64.audit }), RET.ALLOW);
});

test('names: per architecture, skipped where missing, an error where no architecture knows them', () => {
  const p = profile({ architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64'], syscalls: [rule(['open', 'socketcall', 'openat'], 'SCMP_ACT_ERRNO')] });
  assert.is(verdict(p, 'open'), RET.ERRNO | EPERM);
  assert.is(verdict(p, 'socketcall', [], X86), RET.ERRNO | EPERM);
  assert.is(verdict(p, 'openat', [], AARCH64), RET.ERRNO | EPERM);
  assert.is(verdict(p, X86_64.syscalls.socketcall ?? X86.syscalls.socketcall!), RET.ALLOW, 'x86_64 has no socketcall: its number there is something else');
  assert.throws(() => compileConfig({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read', 'nosuchcall'], action: 'SCMP_ACT_ERRNO' }] }), /linux\.seccomp\.syscalls\[0\]\.names\[1\]: unknown syscall "nosuchcall"/);
  // Real names of other architectures, or newer than the tables, are skipped where unknown.
  for (const name of ['socketcall', 'recv', 'pciconfig_iobase', 'mseal']) compileConfig({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [name, 'mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.throws(() => compileConfig({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['toString'], action: 'SCMP_ACT_ERRNO' }] }), /unknown syscall "toString"/);
});

test('validation errors name the config path', () => {
  const bad: [unknown, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_NOPE' }, /linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_NOPE"/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/run/agent.sock' }, /^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action: berth-init hands the listener over with sendmsg, under the filter$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO' }, { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /^linux\.seccomp\.listenerPath: is required: an action is SCMP_ACT_NOTIFY \(linux\.seccomp\.syscalls\[1\]\.action\)$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: 'agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /^linux\.seccomp\.listenerPath: must be an absolute path: an action is SCMP_ACT_NOTIFY/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }, /^linux\.seccomp\.listenerMetadata: must not be set without linux\.seccomp\.listenerPath$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['recvmsg', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }, /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: sendmsg cannot be SCMP_ACT_NOTIFY: berth-init hands the listener over with it, before the agent has it$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: 7 }, /linux\.seccomp\.listenerPath: /],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', listenerMetadata: ['x'] }, /linux\.seccomp\.listenerMetadata: /],
    [{ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, /linux\.seccomp\.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] }, /syscalls\[0\]\.errnoRet: SCMP_ACT_KILL takes no errno/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_NOPE' }] }] }, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_NOPE"/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: 6 is out of range \(0\.\.5\)/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, /args\[0\]\.value: -1 is out of range/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_PDP11'] }, /linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_PDP11"/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_NOPE'] }, /linux\.seccomp\.flags\[1\]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }, /linux\.seccomp\.syscalls\[0\]\.names: must name at least one syscall/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 65536 }, /linux\.seccomp\.defaultErrnoRet: 65536 is out of range/],
    [{ syscalls: [] }, /linux\.seccomp\.defaultAction: is required/],
  ];
  for (const [seccomp, message] of bad) assert.throws(() => compileConfig(seccomp), message, JSON.stringify(seccomp));
  assert.throws(() => compileSeccomp(profile(), 'mips'), /linux\.seccomp: berth has no syscall table for this machine \(mips\)/);
});

test('flags: their numbers; WAIT_KILLABLE_RECV, meaningless without a listener, is passed on only with one', () => {
  const flags = (f: string[], over: Partial<Seccomp> = {}) => compileSeccomp(profile({ flags: f, ...over }), 'x64').flags;
  assert.is(flags([]), 0);
  assert.is(flags(['SECCOMP_FILTER_FLAG_TSYNC']), 1);
  assert.is(flags(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']), 2 | 4);
  assert.is(flags(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_LOG']), 2);
  const NEW_LISTENER = 8;
  const TSYNC_ESRCH = 16;
  const notify = { listenerPath: '/run/agent.sock', syscalls: [rule(['mkdir'], 'SCMP_ACT_NOTIFY')] };
  assert.is(flags([], notify), NEW_LISTENER, 'SCMP_ACT_NOTIFY: a listener');
  assert.is(flags(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_LOG'], notify), 32 | NEW_LISTENER | 2);
  assert.is(flags(['SECCOMP_FILTER_FLAG_TSYNC'], notify), 1 | NEW_LISTENER | TSYNC_ESRCH, 'the kernel takes TSYNC with a listener only so');
  assert.is(flags([], { listenerPath: '/run/agent.sock' }), 0, 'listenerPath without SCMP_ACT_NOTIFY is ignored');
});

test('tableless architectures are left to the bad-arch action', () => {
  const p = profile({ architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_ARM'] });
  assert.is(runFilter(compileSeccomp(p, 'x64').program, { nr: 0, arch: AUDIT_ARCH_ARM }), RET.KILL_THREAD);
});

test('64-bit arguments: both halves, every operator, at the 32-bit edges', () => {
  const two32 = 2 ** 32;
  const deny = (a: SeccompArg) => profile({ syscalls: [rule(['prctl'], 'SCMP_ACT_ERRNO', { args: [a] })] });
  const denied = (a: SeccompArg, value: bigint) => verdict(deny(a), 'prctl', [0n, 0n, value]) !== RET.ALLOW;
  const v = two32 + 5; // 0x1_00000005
  const cases: [SeccompArg, bigint, boolean][] = [
    [arg(2, 'SCMP_CMP_EQ', v), 0x100000005n, true],
    [arg(2, 'SCMP_CMP_EQ', v), 5n, false],
    [arg(2, 'SCMP_CMP_EQ', v), 0x200000005n, false],
    [arg(2, 'SCMP_CMP_NE', v), 5n, true],
    [arg(2, 'SCMP_CMP_NE', v), 0x100000005n, false],
    [arg(2, 'SCMP_CMP_GT', v), 0x100000006n, true],
    [arg(2, 'SCMP_CMP_GT', v), 0x100000005n, false],
    [arg(2, 'SCMP_CMP_GT', v), 0xffffffffn, false],
    [arg(2, 'SCMP_CMP_GT', v), 0x200000000n, true],
    [arg(2, 'SCMP_CMP_GE', v), 0x100000005n, true],
    [arg(2, 'SCMP_CMP_GE', v), 0x100000004n, false],
    [arg(2, 'SCMP_CMP_LT', v), 0x100000004n, true],
    [arg(2, 'SCMP_CMP_LT', v), 0xfffffffffn, false],
    [arg(2, 'SCMP_CMP_LT', v), 0x0ffffffffn, true],
    [arg(2, 'SCMP_CMP_LE', v), 0x100000005n, true],
    [arg(2, 'SCMP_CMP_LE', v), 0x100000006n, false],
    [arg(2, 'SCMP_CMP_LE', two32 - 1), 0x1_00000000n, false],
    [arg(2, 'SCMP_CMP_MASKED_EQ', 0xff00_0000_00ff * 2 ** 8, 0x1200_0000_0034 * 2 ** 8), 0x12ab_cdef_ff34n << 8n, true],
    [arg(2, 'SCMP_CMP_MASKED_EQ', 0xff00_0000_00ff * 2 ** 8, 0x1200_0000_0034 * 2 ** 8), 0x13ab_cdef_ff34n << 8n, false],
    [arg(2, 'SCMP_CMP_MASKED_EQ', 0xff00_0000_00ff * 2 ** 8, 0x1200_0000_0034 * 2 ** 8), 0x12ab_cdef_ff35n << 8n, false],
    [arg(2, 'SCMP_CMP_MASKED_EQ', 0xff, 0x1ff), 0xffn, true], // the datum is masked too, as libseccomp does
  ];
  for (const [a, value, want] of cases) assert.is(denied(a, value), want, `${a.op} 0x${BigInt(a.value).toString(16)} on 0x${value.toString(16)}`);
  assert.ok(denied(arg(2, 'SCMP_CMP_GE', 2 ** 64), 0xffffffffffffffffn), 'JSON’s rounded 2^64 stands for 2^64-1');
});

test('32-bit architectures compare the low halves only: the high ones are the caller’s to fill', () => {
  const p = profile({ architectures: ['SCMP_ARCH_X86'], syscalls: [rule(['prctl'], 'SCMP_ACT_ERRNO', { args: [arg(0, 'SCMP_CMP_EQ', 5)] })] });
  assert.is(verdict(p, 'prctl', [5n], X86), RET.ERRNO | EPERM);
  assert.is(verdict(p, 'prctl', [0xdead_00000005n], X86), RET.ERRNO | EPERM);
  assert.is(verdict(p, 'prctl', [0xdead_00000005n], X86_64), RET.ALLOW);
  const x32 = profile({ architectures: ['SCMP_ARCH_X32'], syscalls: [rule(['prctl'], 'SCMP_ACT_ERRNO', { args: [arg(0, 'SCMP_CMP_EQ', 5)] })] });
  assert.is(verdict(x32, X32.syscalls.prctl!, [0xdead_00000005n]), RET.ALLOW, 'x32 syscalls read all 64 bits');
});

test('conditions of a rule are ANDed, rules ORed, the first match wins; a repeated argument means any of', () => {
  const p = profile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      rule(['kill'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 1), arg(1, 'SCMP_CMP_EQ', 15)] }),
      rule(['kill'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 2)] }),
      rule(['kill'], 'SCMP_ACT_LOG', { args: [arg(1, 'SCMP_CMP_EQ', 9)] }),
      rule(['kill'], 'SCMP_ACT_TRAP'),
      rule(['kill'], 'SCMP_ACT_KILL'),
      rule(['personality'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 0), arg(0, 'SCMP_CMP_EQ', 8)] }),
      rule(['tgkill'], 'SCMP_ACT_ERRNO', { args: [arg(0, 'SCMP_CMP_EQ', 0)] }),
      rule(['tgkill'], 'SCMP_ACT_ALLOW'),
      rule(['tkill'], 'SCMP_ACT_ERRNO'),
    ],
  });
  assert.is(verdict(p, 'tgkill', [0n]), RET.ERRNO | EPERM, 'a rule with the default action still comes first');
  assert.is(verdict(p, 'tgkill', [1n]), RET.ALLOW);
  assert.is(verdict(p, 'tkill'), RET.ERRNO | EPERM);
  assert.is(verdict(p, 'kill', [1n, 15n]), RET.ALLOW);
  assert.is(verdict(p, 'kill', [1n, 9n]), RET.LOG);
  assert.is(verdict(p, 'kill', [2n, 9n]), RET.ALLOW, 'an earlier rule wins');
  assert.is(verdict(p, 'kill', [3n, 1n]), RET.TRAP, 'unconditional, and nothing after it counts');
  assert.is(verdict(p, 'personality', [0n]), RET.ALLOW);
  assert.is(verdict(p, 'personality', [8n]), RET.ALLOW);
  assert.is(verdict(p, 'personality', [9n]), RET.ERRNO | EPERM);
});

test('long programs: far jumps go through ja; more than 4096 instructions is refused', () => {
  const many = (n: number, conditions = 1) =>
    profile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: Object.keys(X86_64.syscalls)
        .slice(0, n)
        .map((name, i) => rule([name], 'SCMP_ACT_ALLOW', { args: Array.from({ length: conditions }, (_, c) => arg((i + c) % 6, 'SCMP_CMP_GT', i * 2 ** 32 + 7)) })),
    });
  const p = many(120);
  const { program } = compileSeccomp(p, 'x64');
  const codes = Array.from({ length: program.length / 8 }, (_, i) => program.readUInt16LE(i * 8));
  assert.ok(codes.includes(BPF.JA), 'has long jumps');
  Object.keys(X86_64.syscalls).slice(0, 120).forEach((name, i) => {
    const args = Array<bigint>(6).fill(0n);
    args[i % 6] = BigInt(i) * 2n ** 32n + 8n;
    assert.is(verdict(p, name, args), RET.ALLOW, name);
    args[i % 6] -= 1n;
    assert.is(verdict(p, name, args), RET.ERRNO | EPERM, name);
  });
  assert.throws(() => compileSeccomp(many(300, 6), 'x64'), /linux\.seccomp: the filter needs \d+ instructions, more than the kernel's limit of 4096/);
});

test('the plan: with no_new_privs the filter is loaded right before exec, without it before setuid; one with a listener before READY', () => {
  const seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  const notify = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  const ctx: CompileContext = {
    bundle: '/b', rootfs: '/b/rootfs', fifo: '/f', preserveFds: 0, noPivot: false, cgroupDirs: ['/sys/fs/cgroup/c'], lastCap: 40, arch: 'x64', lsm: { apparmor: false, selinux: false },
    cgroupLayout: parseLayout('33 25 0:29 / /sys/fs/cgroup rw,relatime shared:12 - cgroup2 cgroup2 rw'),
    sourceKind: () => 'dir',
    rootless: false,
  };
  const ops = (c: Config) => compileInitPlan(c, ctx).map((s) => s.op);
  assert.equal(ops(config(seccomp)).slice(-5), ['NO_NEW_PRIVS', 'READY', 'BARRIER', 'SECCOMP', 'EXEC']);
  const without = ops(config(seccomp, (c) => (c.process.noNewPrivileges = false)));
  assert.is(without.indexOf('SECCOMP') + 1, without.indexOf('SETUID'));
  assert.ok(without.indexOf('CLOSE_FDS') < without.indexOf('SECCOMP'), 'fds are closed before a filter that may not know close_range');
  assert.not.ok(ops(config(undefined)).includes('SECCOMP'));
  const step = compileInitPlan(config(seccomp), ctx).find((s) => s.op === 'SECCOMP')!;
  assert.equal(step.args, [0, compileConfig(seccomp).program]);

  // A listener: berth takes it before READY (after it berth no longer reads berth-init's socket).
  assert.equal(ops(config(notify)).slice(-6), ['NO_NEW_PRIVS', 'SYNC', 'SECCOMP', 'READY', 'BARRIER', 'EXEC']);
  const notifyWithout = ops(config(notify, (c) => (c.process.noNewPrivileges = false)));
  assert.equal(notifyWithout.slice(notifyWithout.indexOf('SECCOMP') - 1, notifyWithout.indexOf('SECCOMP') + 2), ['SYNC', 'SECCOMP', 'SETUID']);
  const plan = compileInitPlan(config(notify), ctx);
  const sync = plan.find((s) => s.op === 'SYNC')!;
  assert.equal(sync.args, [SyncTag.SECCOMP_LISTENER]);
  assert.match(plan.find((s) => s.op === 'SECCOMP')!.what, /^load the seccomp filter \(\d+ instructions\), hand its listener to the seccomp agent at \/run\/agent\.sock$/);
  const execOps = (c: Config) => compileExecPlan(c, c.process, { ...ctx, pid: 7, cgroup: null }).map((s) => s.op);
  assert.equal(execOps(config(seccomp)).slice(-4), ['NO_NEW_PRIVS', 'READY', 'SECCOMP', 'EXEC'], 'an exec: the same places');
  assert.equal(execOps(config(notify)).slice(-5), ['NO_NEW_PRIVS', 'SYNC', 'SECCOMP', 'READY', 'EXEC']);
});

test('encodePlan carries a Buffer as bytes', () => {
  const bytes = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const wire = encodePlan([{ op: 'SECCOMP', args: [2, bytes], what: 'x' }]);
  // header (12), op, argc, then the int (type 1, length 8, value), then the bytes (type 2, length 8).
  assert.is(wire.readUInt32LE(12), 36);
  assert.is(wire.readUInt32LE(36), 2);
  assert.is(wire.readUInt32LE(40), 8);
  assert.equal(wire.subarray(44), bytes);
});

test('features: seccomp from the tables', () => {
  const s = features().linux.seccomp;
  assert.ok(s.enabled);
  assert.equal(s.archs, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64']);
  assert.ok(s.actions.includes('SCMP_ACT_KILL_PROCESS') && s.actions.includes('SCMP_ACT_NOTIFY'));
  // Every action it lists compiles (with a listener for NOTIFY); the flags it says the kernel has are ones berth knows.
  for (const action of s.actions) compileSeccomp(profile({ listenerPath: '/run/agent.sock', syscalls: [rule(['mkdir'], action)] }), 'x64');
  assert.ok(s.supportedFlags.every((f) => s.knownFlags.includes(f)));
  assert.is(s.operators.length, 7);
  assert.ok(s.knownFlags.includes('SECCOMP_FILTER_FLAG_SPEC_ALLOW'));
});

// ——— the same profiles through libseccomp ———

/** A profile of the shape of Docker's and podman's defaults (written here, not copied): allow nearly all, by name. */
function containerDefaultProfile(): Seccomp {
  const refused = new Set([
    'acct', 'add_key', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module', 'finit_module', 'get_kernel_syms',
    'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp', 'kexec_file_load', 'kexec_load', 'keyctl', 'lookup_dcookie', 'mbind',
    'mount', 'move_pages', 'name_to_handle_at', 'nfsservctl', 'open_by_handle_at', 'perf_event_open', 'pivot_root', 'process_vm_readv',
    'process_vm_writev', 'ptrace', 'query_module', 'quotactl', 'reboot', 'request_key', 'set_mempolicy', 'setns', 'settimeofday',
    'swapon', 'swapoff', 'sysfs', '_sysctl', 'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old',
    'personality', 'clone', 'clone3', 'socket', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'move_mount', 'open_tree',
  ]);
  const names = [...new Set([X86_64, X86, X32].flatMap((a) => Object.keys(a.syscalls)))].filter((n) => !refused.has(n)).sort();
  return profile({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      rule(names, 'SCMP_ACT_ALLOW'),
      rule(['personality'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 0)] }),
      rule(['personality'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 0x0008)] }),
      rule(['personality'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 0x20000)] }),
      rule(['personality'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 0xffffffff)] }),
      // clone without namespace flags (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET).
      rule(['clone'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_MASKED_EQ', 0x7e020000, 0)] }),
      // clone3 hides its flags behind a pointer: ENOSYS makes the C library fall back to clone.
      rule(['clone3'], 'SCMP_ACT_ERRNO', { errnoRet: ENOSYS }),
      rule(['socket'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_NE', 40)] }), // not AF_VSOCK
    ],
  });
}

const comparedProfiles: [string, Seccomp][] = [
  [
    'every action, errno values',
    profile({
      syscalls: [
        rule(['mkdir'], 'SCMP_ACT_ERRNO', { errnoRet: ENOSYS }),
        rule(['mkdirat'], 'SCMP_ACT_ERRNO'),
        rule(['ptrace'], 'SCMP_ACT_KILL_PROCESS'),
        rule(['reboot'], 'SCMP_ACT_KILL'),
        rule(['kexec_load'], 'SCMP_ACT_TRAP'),
        rule(['uname'], 'SCMP_ACT_LOG'),
        rule(['getpid'], 'SCMP_ACT_TRACE', { errnoRet: 7 }),
        rule(['getppid'], 'SCMP_ACT_TRACE'),
        rule(['gettid'], 'SCMP_ACT_KILL_THREAD'),
        rule(['mknod', 'mknodat'], 'SCMP_ACT_NOTIFY'),
      ],
      listenerPath: '/run/agent.sock',
    }),
  ],
  ...['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_KILL'].map((defaultAction): [string, Seccomp] => [
    `default ${defaultAction}`,
    profile({ defaultAction, syscalls: [rule(['read', 'write', 'exit_group', 'rt_sigreturn'], 'SCMP_ACT_ALLOW'), rule(['open'], 'SCMP_ACT_ERRNO', { errnoRet: 2 })] }),
  ]),
  ['default errno with defaultErrnoRet', profile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: ENOSYS, syscalls: [rule(['read', 'write'], 'SCMP_ACT_ALLOW')] })],
  [
    '64-bit arguments, every operator (x86_64 and x86)',
    profile({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 13,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        rule(['read'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 2 ** 32 + 5)] }),
        rule(['write'], 'SCMP_ACT_ALLOW', { args: [arg(1, 'SCMP_CMP_GT', 2 ** 33 - 1)] }),
        rule(['close'], 'SCMP_ACT_ALLOW', { args: [arg(2, 'SCMP_CMP_LT', 2 ** 32)] }),
        rule(['dup'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_MASKED_EQ', 0xffff_0000_ff00, 0x1234_0000_5600)] }),
        rule(['dup2'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_MASKED_EQ', 0xff, 0x1ff)] }),
        rule(['getpid'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_NE', 5 * 2 ** 32)] }),
        rule(['getuid'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_GE', 7), arg(1, 'SCMP_CMP_LE', 0xffffffff)] }),
        rule(['getgid'], 'SCMP_ACT_ALLOW', { args: [arg(3, 'SCMP_CMP_LE', 2 ** 40 + 2 ** 20), arg(4, 'SCMP_CMP_GE', 2 ** 40 + 2 ** 20), arg(5, 'SCMP_CMP_NE', 0)] }),
        rule(['kill'], 'SCMP_ACT_ALLOW', { args: [arg(0, 'SCMP_CMP_EQ', 1)] }),
        rule(['kill'], 'SCMP_ACT_ALLOW', { args: [arg(1, 'SCMP_CMP_EQ', 9)] }),
        rule(['tkill'], 'SCMP_ACT_LOG', { args: [arg(0, 'SCMP_CMP_EQ', 3), arg(0, 'SCMP_CMP_EQ', 4)] }),
        rule(['mkdir'], 'SCMP_ACT_ERRNO', { errnoRet: ENOSYS, args: [arg(1, 'SCMP_CMP_MASKED_EQ', 0o7000, 0o1000)] }),
      ],
    }),
  ],
  ['the shape of Docker’s and podman’s default profile', containerDefaultProfile()],
  [
    'every architecture',
    profile({
      architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64'],
      syscalls: [
        rule(['open', 'openat', 'mkdir', 'mkdirat', 'socketcall', 'ipc', 'fstat', 'newfstatat', 'clone3', 'memfd_secret', 'rt_sigaction'], 'SCMP_ACT_ERRNO', { errnoRet: 5 }),
        rule(['ioctl'], 'SCMP_ACT_ERRNO', { args: [arg(1, 'SCMP_CMP_EQ', 0x5412)] }),
        rule(['fcntl', 'fcntl64'], 'SCMP_ACT_TRAP', { args: [arg(1, 'SCMP_CMP_GE', 1024)] }),
      ],
    }),
  ],
];

/** Argument values that sit on the edges of a profile's values: ±1, the other half flipped, masked. */
function edgeValues(p: Seccomp): bigint[] {
  const values = new Set<bigint>([0n, 1n, 0xffffffffn, 2n ** 32n, 2n ** 64n - 1n, 0x8000000000000000n]);
  for (const a of p.syscalls.flatMap((s) => s.args))
    for (const n of [BigInt(a.value), BigInt(a.valueTwo), BigInt(a.value) & BigInt(a.valueTwo)])
      for (const v of [n, n + 1n, n - 1n, n ^ (1n << 32n), n & 0xffffffffn, n | 0xdead_0000_0000n, n | ~BigInt(a.value), (n << 32n) | n])
        values.add(BigInt.asUintN(64, v));
  return [...values];
}

const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
const exporter = buildExporter(dir);
if ('skip' in exporter) console.log(`seccomp: the comparison with libseccomp is skipped: ${exporter.skip}`);
else
  for (const [name, p] of comparedProfiles)
    test(`libseccomp agrees: ${name}`, () => {
      const mine = compileSeccomp(p, 'x64').program;
      const theirs = libseccompFilter(exporter.path, p, dir);
      const listed = ['SCMP_ARCH_X86_64', ...p.architectures].map((a) => architectures[a]!);
      // libseccomp 2.5 predates some of the tables' syscalls; runc would skip those names, so their numbers are left out.
      const unknownToLibseccomp = new Set(listed.flatMap((a) => theirs.unknown.map((n) => a.syscalls[n]).filter((nr) => nr !== undefined)));
      const conditional = new Set(listed.flatMap((a) => p.syscalls.filter((s) => s.args.length).flatMap((s) => s.names.map((n) => a.syscalls[n]))));
      const edges = edgeValues(p);
      let random = 1;
      const pick = () => edges[(random = (random * 1103515245 + 12345) % 2 ** 31) % edges.length]!;
      const numbers = new Set<number>([-1, 0x3fffffff, 0x40000000, 0x400001ff, 0x7fffffff, 0xfffffffe, 999, 4095]);
      for (const a of Object.values(architectures)) for (const nr of Object.values(a.syscalls)) numbers.add(nr).add(nr + 1);
      const mismatches: string[] = [];
      let runs = 0;
      for (const arch of [X86_64.audit, X86.audit, AARCH64.audit, AUDIT_ARCH_ARM, 0xdeadbeef])
        for (const nr of numbers) {
          if (unknownToLibseccomp.has(nr)) continue;
          const argSets: bigint[][] = [Array(6).fill(0n), Array.from({ length: 6 }, pick)];
          if (conditional.has(nr)) for (const v of edges) argSets.push(Array(6).fill(v), Array.from({ length: 6 }, pick));
          // libseccomp compares x32 arguments as 32-bit ones (berth reads all 64 bits): keep their high halves 0 there.
          const x32 = arch === X32.audit && nr >>> 0 >= 0x40000000;
          for (const args of argSets) {
            const data: SeccompData = { nr, arch, instructionPointer: 0x401000n, args: x32 ? args.map((a) => a & 0xffffffffn) : args };
            const [a, b] = [runFilter(mine, data), runFilter(theirs.program, data)];
            runs++;
            if (a !== b && mismatches.length < 10) mismatches.push(`arch 0x${arch.toString(16)} nr ${nr} args ${data.args!.map((x) => x.toString(16))}: berth 0x${a.toString(16)}, libseccomp 0x${b.toString(16)}`);
          }
        }
      assert.equal(mismatches, [], `verdicts differ (of ${runs})`);
      assert.ok(runs > 5000, `${runs} verdicts`);
    });

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
