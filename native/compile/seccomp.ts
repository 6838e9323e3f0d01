// linux.seccomp: the profile compiled to a classic BPF filter, and the step that loads it.
//
// The filter:
//   ld arch · jeq AUDIT_ARCH_… → that architecture's section · any other arch → the bad-arch action
//   section: ld nr · a binary search over the syscall numbers, cut into intervals that end alike;
//            an interval ends in a return, or (one syscall) in its rules, tried in order.
//
// Where the runtime spec leaves the meaning open, berth decides so:
// - The native architecture is always in the filter (libseccomp's seccomp_init puts it there, so
//   runc and crun do the same); `architectures` adds to it. Listed architectures berth has no
//   table for are left out: their syscalls get the bad-arch action, never more than the profile allows.
// - The bad-arch action is SECCOMP_RET_KILL_THREAD: libseccomp's default, which runc and crun keep.
// - Rules for one syscall are tried in the order config.json lists them; the first whose conditions
//   all hold decides. (libseccomp merges them into one tree instead, where an unconditional rule
//   replaces the conditional ones before it; profiles whose rules for a syscall agree, as Docker's
//   and podman's do, mean the same either way.)
// - Conditions of a rule must all hold, except when one argument has several: then, as runc and crun
//   do (libseccomp refuses two conditions on one argument), each condition is a rule of its own.
// - A name no architecture of the filter knows is an error; a name some of them lack (socketcall on
//   x86_64) is skipped there, as libseccomp does.
// - Arguments and values are compared as unsigned 64-bit numbers; on 32-bit architectures, as
//   libseccomp does, only their low words (the syscall never sees more of the argument).
//   x32 is not one of them here (libseccomp treats it as one): see architectures.ts.
// - SCMP_ACT_NOTIFY: the filter is loaded with a listener, which berth sends to listenerPath
//   (required then, and absolute: berth's server does not share the caller's cwd). As runc, it
//   cannot be the default action, nor the action for sendmsg: berth-init hands the listener over
//   with sendmsg, under the filter, before the agent has it — a notification then would wait forever.
import { isAbsolute } from 'node:path';
import { step, SyncTag, type PlanStep } from '../plan.js';
import type { Config, Seccomp, SeccompArg, SeccompSyscall } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';
import { architectures, nativeArchitecture, tablelessArchitectures, X32_SYSCALL_BIT, type Architecture } from './seccomp/architectures.js';
import { namesWithoutNumbers } from './seccomp/otherNames.js';
import { Assembler, BPF, MAX_INSTRUCTIONS, type Label } from './seccomp/bpf.js';

const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

// linux/seccomp.h return values; the low 16 bits carry the errno (ERRNO) or the tracer's message (TRACE).
const SECCOMP_RET = { KILL_PROCESS: 0x80000000, KILL_THREAD: 0, TRAP: 0x00030000, ERRNO: 0x00050000, USER_NOTIF: 0x7fc00000, TRACE: 0x7ff00000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000 };
const EPERM = 1;

export const seccompActions: Readonly<Record<string, { ret: number; takesErrno?: true }>> = {
  SCMP_ACT_KILL: { ret: SECCOMP_RET.KILL_THREAD },
  SCMP_ACT_KILL_THREAD: { ret: SECCOMP_RET.KILL_THREAD },
  SCMP_ACT_KILL_PROCESS: { ret: SECCOMP_RET.KILL_PROCESS },
  SCMP_ACT_TRAP: { ret: SECCOMP_RET.TRAP },
  SCMP_ACT_ERRNO: { ret: SECCOMP_RET.ERRNO, takesErrno: true },
  SCMP_ACT_TRACE: { ret: SECCOMP_RET.TRACE, takesErrno: true },
  SCMP_ACT_ALLOW: { ret: SECCOMP_RET.ALLOW },
  SCMP_ACT_LOG: { ret: SECCOMP_RET.LOG },
  SCMP_ACT_NOTIFY: { ret: SECCOMP_RET.USER_NOTIF },
};
const NOTIFY = 'SCMP_ACT_NOTIFY';

const BAD_ARCH = SECCOMP_RET.KILL_THREAD;

/** What the high words of argument and value decide by their order; 'low' asks the low words. */
type Verdict = 'pass' | 'fail' | 'low';

interface Operator {
  below: Verdict;
  equal: Verdict;
  above: Verdict;
  /** The unsigned test on the low words, and whether its holding means pass or fail. */
  low: { code: number; holds: 'pass' | 'fail' };
}

export const seccompOperators: Readonly<Record<string, Operator>> = {
  SCMP_CMP_NE: { below: 'pass', equal: 'low', above: 'pass', low: { code: BPF.JEQ_K, holds: 'fail' } },
  SCMP_CMP_LT: { below: 'pass', equal: 'low', above: 'fail', low: { code: BPF.JGE_K, holds: 'fail' } },
  SCMP_CMP_LE: { below: 'pass', equal: 'low', above: 'fail', low: { code: BPF.JGT_K, holds: 'fail' } },
  SCMP_CMP_EQ: { below: 'fail', equal: 'low', above: 'fail', low: { code: BPF.JEQ_K, holds: 'pass' } },
  SCMP_CMP_GE: { below: 'fail', equal: 'low', above: 'pass', low: { code: BPF.JGE_K, holds: 'pass' } },
  SCMP_CMP_GT: { below: 'fail', equal: 'low', above: 'pass', low: { code: BPF.JGT_K, holds: 'pass' } },
  // (arg & value) == (valueTwo & value): the same test as EQ, on masked words.
  SCMP_CMP_MASKED_EQ: { below: 'fail', equal: 'low', above: 'fail', low: { code: BPF.JEQ_K, holds: 'pass' } },
};

export const seccompFlags: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};
// Flags the config does not name: a filter with SCMP_ACT_NOTIFY gets a listener (NEW_LISTENER);
// TSYNC with a listener needs TSYNC_ESRCH (the kernel's rule; berth-init has one thread anyway).
const NEW_LISTENER = 8;
const TSYNC_ESRCH = 16;
// How a notifying syscall waits for the listener: the kernel refuses it without one, so a filter
// without SCMP_ACT_NOTIFY is loaded without it (the flag means nothing there).
const WAIT_KILLABLE_RECV = seccompFlags.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV!;
/** FLAG with the flags the kernel takes it with only (features asks the kernel about each). */
export const withRequiredFlags = (flag: number) => (flag === WAIT_KILLABLE_RECV ? flag | NEW_LISTENER : flag);

// struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. Every supported
// architecture is little endian: an argument's low word comes first.
const NR = 0;
const ARCH = 4;
const argLow = (index: number) => 16 + 8 * index;
const argHigh = (index: number) => 20 + 8 * index;

interface Condition {
  index: number;
  op: Operator;
  /** Compared with the argument, masked by `mask` when there is one (MASKED_EQ). */
  operand: bigint;
  mask?: bigint;
}

interface Rule {
  ret: number;
  conditions: Condition[];
}

/** How one syscall ends: a plain return, or rules tried in order (then the default action). */
type Outcome = { ret: number } | { rules: Rule[] };

export interface SeccompFilter {
  /** struct sock_filter[], 8 bytes each. */
  program: Buffer;
  flags: number;
}

const u64 = (n: number) => (n === 2 ** 64 ? 2n ** 64n - 1n : BigInt(n));
const high = (n: bigint) => Number(n >> 32n);
const low = (n: bigint) => Number(n & 0xffffffffn);

function actionValue(action: string, errnoRet: number | undefined, actionPath: string, errnoPath: string): number {
  const a = own(seccompActions, action);
  if (!a) throw new ConfigError(actionPath, `unknown action "${action}" (${Object.keys(seccompActions).join(', ')})`);
  if (!a.takesErrno) {
    if (errnoRet !== undefined) throw new ConfigError(errnoPath, `${action} takes no errno`);
    return a.ret;
  }
  return (a.ret | (errnoRet ?? EPERM)) >>> 0;
}

function condition(arg: SeccompArg, path: string): Condition {
  const op = own(seccompOperators, arg.op);
  if (!op) throw new ConfigError(`${path}.op`, `unknown operator "${arg.op}" (${Object.keys(seccompOperators).join(', ')})`);
  if (arg.op !== 'SCMP_CMP_MASKED_EQ') return { index: arg.index, op, operand: u64(arg.value) };
  // libseccomp's meaning, which profiles are written for: the masked argument equals the masked datum.
  const mask = u64(arg.value);
  return { index: arg.index, op, operand: u64(arg.valueTwo) & mask, mask };
}

/** One entry of `syscalls` as rules: one, or one per condition when an argument has several. */
function entryRules(entry: SeccompSyscall, path: string): Rule[] {
  const ret = actionValue(entry.action, entry.errnoRet, `${path}.action`, `${path}.errnoRet`);
  const conditions = entry.args.map((a, i) => condition(a, `${path}.args[${i}]`));
  const indexes = entry.args.map((a) => a.index);
  const repeated = new Set(indexes).size < indexes.length;
  return repeated ? conditions.map((c) => ({ ret, conditions: [c] })) : [{ ret, conditions }];
}

/** Rules → how the syscall ends: nothing after an unconditional rule, nor default-action rules at the end. */
function outcomeOf(rules: Rule[], defaultRet: number): Outcome {
  const firstUnconditional = rules.findIndex((r) => r.conditions.length === 0);
  const reachable = rules.slice(0, firstUnconditional < 0 ? undefined : firstUnconditional + 1);
  while (reachable.length && reachable.at(-1)!.ret === defaultRet) reachable.pop();
  if (reachable.length === 0) return { ret: defaultRet };
  if (reachable.length === 1 && reachable[0]!.conditions.length === 0) return { ret: reachable[0]!.ret };
  return { rules: reachable };
}

function emitCondition(asm: Assembler, c: Condition, argBits: 32 | 64, pass: Label, fail: Label): void {
  const lowWord = asm.label();
  const to = (v: Verdict) => (v === 'pass' ? pass : v === 'fail' ? fail : lowWord);
  if (argBits === 64) {
    const k = high(c.operand);
    asm.load(argHigh(c.index));
    if (c.mask !== undefined) asm.and(high(c.mask));
    if (c.op.below === c.op.above) {
      asm.jump(BPF.JEQ_K, k, to(c.op.equal), to(c.op.below));
    } else {
      const notAbove = asm.label();
      asm.jump(BPF.JGT_K, k, to(c.op.above), notAbove);
      asm.place(notAbove);
      asm.jump(BPF.JEQ_K, k, to(c.op.equal), to(c.op.below));
    }
  }
  asm.place(lowWord);
  asm.load(argLow(c.index));
  if (c.mask !== undefined) asm.and(low(c.mask));
  const { code, holds } = c.op.low;
  asm.jump(code, low(c.operand), holds === 'pass' ? pass : fail, holds === 'pass' ? fail : pass);
}

function emitOutcome(asm: Assembler, outcome: Outcome, argBits: 32 | 64, defaultRet: number): void {
  if ('ret' in outcome) return asm.ret(outcome.ret);
  for (const rule of outcome.rules) {
    const next = asm.label();
    for (const c of rule.conditions) {
      const holds = asm.label();
      emitCondition(asm, c, argBits, holds, next);
      asm.place(holds);
    }
    asm.ret(rule.ret);
    if (rule.conditions.length === 0) return; // the last rule (outcomeOf keeps nothing after it)
    asm.place(next);
  }
  asm.ret(defaultRet);
}

interface Interval {
  /** The first syscall number; the interval ends where the next one starts. */
  from: number;
  outcome: Outcome;
}

/** [0, 2^32) cut where the outcome changes; neighbours that return the same merge. */
function intervals(outcomes: Map<number, Outcome>, defaultRet: number): Interval[] {
  const list: Interval[] = [];
  const add = (from: number, outcome: Outcome) => {
    const last = list.at(-1)?.outcome;
    if (last && 'ret' in last && 'ret' in outcome && last.ret === outcome.ret) return;
    list.push({ from, outcome });
  };
  let next = 0;
  for (const nr of [...outcomes.keys()].sort((a, b) => a - b)) {
    if (nr > next) add(next, { ret: defaultRet });
    add(nr, outcomes.get(nr)!);
    next = nr + 1;
  }
  if (next <= 0xffffffff) add(next, { ret: defaultRet });
  return list;
}

/** With the syscall number in A: a binary search for its interval. */
function emitSearch(asm: Assembler, list: Interval[], argBits: 32 | 64, defaultRet: number): void {
  if (list.length === 1) return emitOutcome(asm, list[0]!.outcome, argBits, defaultRet);
  const mid = list.length >> 1;
  const below = asm.label();
  const atOrAbove = asm.label();
  asm.jump(BPF.JGE_K, list[mid]!.from, atOrAbove, below);
  asm.place(below);
  emitSearch(asm, list.slice(0, mid), argBits, defaultRet);
  asm.place(atOrAbove);
  emitSearch(asm, list.slice(mid), argBits, defaultRet);
}

/** The architecture's part of the filter, the syscall number in A. */
function emitSection(asm: Assembler, arch: Architecture, entries: { names: string[]; rules: Rule[] }[], defaultRet: number): void {
  const rulesByNr = new Map<number, Rule[]>();
  for (const { names, rules } of entries)
    for (const name of names) {
      const nr = own(arch.syscalls, name);
      if (nr === undefined) continue;
      rulesByNr.set(nr, [...(rulesByNr.get(nr) ?? []), ...rules]);
    }
  const outcomes = new Map([...rulesByNr].map(([nr, rules]) => [nr, outcomeOf(rules, defaultRet)]));
  emitSearch(asm, intervals(outcomes, defaultRet), arch.argBits, defaultRet);
}

/** The first entry whose action is SCMP_ACT_NOTIFY, or -1. With one, the filter is loaded with a listener. */
const notifyingEntry = (seccomp: Seccomp) => seccomp.syscalls.findIndex((entry) => entry.action === NOTIFY);

/** The profile's filter has a listener, which berth must take before READY (it stops listening then). */
export const hasListener = (seccomp: Seccomp | undefined) => seccomp !== undefined && notifyingEntry(seccomp) >= 0;

export function compileSeccomp(seccomp: Seccomp, nodeArch: string): SeccompFilter {
  const path = 'linux.seccomp';
  const native = nativeArchitecture(nodeArch);
  if (!native) throw new ConfigError(path, `berth has no syscall table for this machine (${nodeArch})`);
  seccomp.architectures.forEach((name, i) => {
    if (!own(architectures, name) && !tablelessArchitectures.includes(name)) throw new ConfigError(`${path}.architectures[${i}]`, `unknown architecture "${name}"`);
  });
  const archNames = [...new Set([native, ...seccomp.architectures.filter((name) => own(architectures, name))])];

  let flags = 0;
  seccomp.flags.forEach((flag, i) => {
    const bit = own(seccompFlags, flag);
    if (bit === undefined) throw new ConfigError(`${path}.flags[${i}]`, `unknown flag "${flag}" (${Object.keys(seccompFlags).join(', ')})`);
    flags |= bit;
  });
  if (seccomp.listenerMetadata !== undefined && seccomp.listenerPath === undefined) throw new ConfigError(`${path}.listenerMetadata`, `must not be set without ${path}.listenerPath`);
  if (seccomp.defaultAction === NOTIFY) throw new ConfigError(`${path}.defaultAction`, `${NOTIFY} cannot be the default action: berth-init hands the listener over with sendmsg, under the filter`);
  const notifying = notifyingEntry(seccomp);
  if (notifying >= 0) {
    const why = `an action is ${NOTIFY} (${path}.syscalls[${notifying}].action)`;
    if (seccomp.listenerPath === undefined) throw new ConfigError(`${path}.listenerPath`, `is required: ${why}`);
    if (!isAbsolute(seccomp.listenerPath)) throw new ConfigError(`${path}.listenerPath`, `must be an absolute path: ${why}`);
    flags |= NEW_LISTENER | ((flags & seccompFlags.SECCOMP_FILTER_FLAG_TSYNC!) ? TSYNC_ESRCH : 0);
  } else flags &= ~WAIT_KILLABLE_RECV;

  const defaultRet = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet, `${path}.defaultAction`, `${path}.defaultErrnoRet`);
  const entries = seccomp.syscalls.map((entry, i) => {
    const at = `${path}.syscalls[${i}]`;
    entry.names.forEach((name, j) => {
      // A name some architecture has is skipped where it is unknown (runc and crun do the same).
      if (!namesWithoutNumbers.has(name) && !Object.values(architectures).some((a) => own(a.syscalls, name) !== undefined))
        throw new ConfigError(`${at}.names[${j}]`, `unknown syscall "${name}" (on ${archNames.join(', ')})`);
      if (name === 'sendmsg' && entry.action === NOTIFY) throw new ConfigError(`${at}.names[${j}]`, `sendmsg cannot be ${NOTIFY}: berth-init hands the listener over with it, before the agent has it`);
    });
    return { names: entry.names, rules: entryRules(entry, at) };
  });

  const asm = new Assembler();
  asm.load(ARCH);
  const audits = [...new Set(archNames.map((a) => architectures[a]!.audit))];
  const sections = audits.map(() => asm.label());
  audits.forEach((audit, i) => {
    const next = asm.label();
    asm.jump(BPF.JEQ_K, audit, sections[i]!, next);
    asm.place(next);
  });
  asm.ret(BAD_ARCH);
  audits.forEach((audit, i) => {
    asm.place(sections[i]!);
    asm.load(NR);
    const section = (name: string) => {
      if (archNames.includes(name)) emitSection(asm, architectures[name]!, entries, defaultRet);
      else asm.ret(BAD_ARCH);
    };
    if (audit !== architectures.SCMP_ARCH_X86_64!.audit) return section(archNames.find((a) => architectures[a]!.audit === audit)!);
    // x86_64 and x32 share the arch value: the syscall number tells them apart. -1 is neither: it
    // is what a tracer sets to skip a syscall, and gets the default action as it would anywhere.
    const x86_64 = asm.label();
    const flagged = asm.label();
    const x32 = asm.label();
    const noSyscall = asm.label();
    asm.jump(BPF.JGE_K, X32_SYSCALL_BIT, flagged, x86_64);
    asm.place(flagged);
    asm.jump(BPF.JEQ_K, 0xffffffff, noSyscall, x32);
    asm.place(noSyscall);
    asm.ret(defaultRet);
    asm.place(x32);
    section('SCMP_ARCH_X32');
    asm.place(x86_64);
    section('SCMP_ARCH_X86_64');
  });

  const program = asm.assemble();
  const length = program.length / 8;
  if (length > MAX_INSTRUCTIONS) throw new ConfigError(path, `the filter needs ${length} instructions, more than the kernel's limit of ${MAX_INSTRUCTIONS}`);
  return { program, flags };
}

/** Listed architectures berth has no table for: their syscalls get the bad-arch action. */
export function tablelessArchitecturesOf(seccomp: Seccomp): string[] {
  return seccomp.architectures.filter((name) => tablelessArchitectures.includes(name));
}

/** The SECCOMP step (after the SYNC that has berth take its listener, when it has one), or none without linux.seccomp. */
export function seccompPlan(config: Config, nodeArch: string): PlanStep[] {
  if (!config.linux.seccomp) return [];
  const { program, flags } = compileSeccomp(config.linux.seccomp, nodeArch);
  const load = `load the seccomp filter (${program.length / 8} instructions)`;
  if (!(flags & NEW_LISTENER)) return [step('SECCOMP', load, flags, program)];
  return [
    step('SYNC', 'have berth take the seccomp listener the next step hands over', SyncTag.SECCOMP_LISTENER),
    step('SECCOMP', `${load}, hand its listener to the seccomp agent at ${config.linux.seccomp.listenerPath}`, flags, program),
  ];
}
