// The init plan: the ordered steps berth-init executes between fork and exec (design.md §2).
// Every decision is made here in TypeScript; the C side (native/init/init.c) only interprets.
// The opcode table below is the single source of the protocol: the C header is generated from it.

/** Opcodes understood by berth-init. Order matters: the numeric value is the wire code. */
export const Op = {
  SYNC: 1, // (tag) ask the parent to act, wait for its ack
  OPEN: 2, // (slot, path, flags) keep an fd in a slot
  SETNS: 3, // (path, nstype) join a namespace
  UNSHARE: 4, // (flags) create namespaces
  FORK: 5, // () clone(CLONE_PARENT): the child goes on in a session of its own, the caller reports the pid and exits
  MOUNT: 6, // (source, target, fstype, flags, data, resolve)
  MKNOD: 7, // (path, mode, major, minor, uid, gid) in the root slot
  SYMLINK: 8, // (target, path) in the root slot
  MKDIR: 9, // (path, mode) in the root slot, with parents
  PIVOT_ROOT: 10, // () into the root slot; the old root is detached
  MOVE_ROOT: 11, // () MS_MOVE the root slot onto / and chroot (--no-pivot)
  SETHOSTNAME: 12, // (name)
  SETDOMAINNAME: 13, // (name)
  WRITE_FILE: 14, // (path, data) into an existing file
  CHDIR: 15, // (path)
  SETGROUPS: 16, // (gid...)
  SETGID: 17, // (gid)
  SETUID: 18, // (uid)
  UMASK: 19, // (mask)
  LOOKUP: 20, // (file, searchPath) find the program before the barrier
  READY: 21, // () tell the parent the container is created
  BARRIER: 22, // (slot) block until `start` writes to the fifo in the slot
  EXEC: 23, // (argc, argv..., env...) execve the looked-up program
  CLOSE_FDS: 24, // (first) mark fds >= first close-on-exec
  CHROOT: 25, // () chroot into the root slot (no mount namespace of its own: nothing to pivot)
  PROPAGATE_PARENT: 26, // (path, flags) set the propagation of the mount PATH is on
  MASK: 27, // (path) hide what is there: a null device over a file (the container's own when it is one, else the kept clone), an empty read-only tmpfs over a dir
  READONLY: 28, // (path) bind PATH onto itself read-only
  RLIMIT: 29, // (resource, soft, hard)
  BOUNDING: 30, // (mask, lastCap) drop every capability not in mask from the bounding set
  KEEPCAPS: 31, // (on) keep permitted capabilities across setuid
  CAPSET: 32, // (effective, permitted, inheritable) as 64-bit masks
  AMBIENT: 33, // (mask, lastCap) the ambient set, exactly
  NO_NEW_PRIVS: 34, // ()
  REMOUNT_RO: 35, // (path, resolve) make a mount read-only, keeping the flags it has (some may be locked)
  SECCOMP: 36, // (flags, program) load a seccomp filter: struct sock_filter[] as bytes; with SECCOMP_FILTER_FLAG_NEW_LISTENER its listener goes to the parent (Msg.LISTENER), then wait for its ack
  TERMINAL: 37, // (consoleFd, rows, cols, uid, gid, console) a pty from /dev/ptmx: master sent over consoleFd, slave becomes stdio and the controlling terminal, and is bound over /dev/console when console is 1
  LOOPBACK_UP: 38, // () bring up lo in the network namespace the process is in
  MOUNT_COPYUP: 39, // (as MOUNT) mount, then copy what the mount hides into it (tmpcopyup)
  MOUNT_SETATTR: 40, // (path, resolve, attrSet, attrClr, recursive) mount_setattr(2) on the mount at path
  MOUNTPOINT: 41, // (path, resolve) make PATH inside the root slot as MOUNT would (a dir or an empty file), mount nothing
  KEEP_NULL: 42, // (slot) keep a detached clone of the host's /dev/null (checked: char 1:3) for MASK to fall back on
  SCHEDULER: 43, // (policy, flags, nice, priority, runtime, deadline, period) sched_setattr(2) of this process
  IOPRIO: 44, // (value) ioprio_set(2) of this process: class << 13 | level
  PERSONALITY: 45, // (persona) personality(2)
  AFFINITY: 46, // (mask) sched_setaffinity(2) of this process: a CPU bitmask as bytes
  MOVE_MOUNT: 47, // (slot, path, resolve) attach the detached mount in SLOT (an idmapped bind the parent made) at PATH
  MEMPOLICY: 48, // (mode, nodemask) set_mempolicy(2) of this process: mode | flags, the nodes as bytes (none: no mask)
} as const;
export type OpName = keyof typeof Op;

/** How a MOUNT target is resolved. */
export const Resolve = {
  ABSOLUTE: 0, // a host path, used as given (the mount namespace is already the container's)
  DIR: 1, // inside the root slot, created as a directory when missing
  FILE: 2, // inside the root slot, created as an empty file when missing
  EXISTING: 3, // inside the root slot, must exist
} as const;

/** Fd slots shared by the steps. */
export const Slot = { ROOT: 0, FIFO: 1, NULL: 2, IDMAPPED: 3 } as const;
/** Slots IDMAPPED, IDMAPPED + 1, ...: one per idmapped bind, at most this many. */
export const IDMAPPED_SLOTS = 16;

/** The fds berth-init gets besides the process's own (0, 1, 2, then the preserved ones). */
export const initFd = {
  /** The socket to berth: the plan comes in, messages go out. */
  sync: (preserveFds: number) => 3 + preserveFds,
  /** The console socket a TERMINAL step sends the pty master over. */
  console: (preserveFds: number) => 4 + preserveFds,
};

/** Messages from berth-init to its parent, 16 bytes: kind, step, errno, value (all int32 LE). LISTENER carries an fd (SCM_RIGHTS). */
export const Msg = { SYNC: 1, PID: 2, READY: 3, ERROR: 4, LISTENER: 5 } as const;

/**
 * Tags of SYNC steps: what the parent must do before acking. SECCOMP_LISTENER: read the next
 * message itself, the LISTENER the next SECCOMP step sends (the socket's own reader would drop its fd).
 */
export const SyncTag = { ID_MAPS: 1, CREATE_HOOKS: 2, IDMAPPED_MOUNTS: 3, NET_DEVICES: 4, SECCOMP_LISTENER: 5 } as const;
export type SyncTagValue = (typeof SyncTag)[keyof typeof SyncTag];

export type Arg = string | number | bigint | Buffer;

export interface PlanStep {
  op: OpName;
  args: Arg[];
  /** What the step does, in words, for error messages: `mount proc on /proc`. */
  what: string;
}

export type Plan = PlanStep[];

export function step(op: OpName, what: string, ...args: Arg[]): PlanStep {
  return { op, args, what };
}

const MAGIC = 0x48545242; // "BRTH"

/** How an argument is carried. */
const ArgType = {
  STR: 0, // UTF-8 with a trailing NUL
  INT: 1, // i64
  BYTES: 2, // as given, at least one byte
} as const;

/**
 * Wire format, little endian: u32 magic, u32 total length, u32 step count, then per step
 * u32 op, u32 argc, and per arg u32 type, u32 length, bytes.
 */
export function encodePlan(plan: Plan): Buffer {
  // Sized first, then written into one buffer: the plan runs to hundreds of arguments.
  let size = 12;
  for (const s of plan) {
    size += 8;
    for (const a of s.args) size += 8 + (typeof a === 'string' ? Buffer.byteLength(a) + 1 : Buffer.isBuffer(a) ? a.length : 8);
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(size, 4);
  buf.writeUInt32LE(plan.length, 8);
  let at = 12;
  for (const s of plan) {
    at = buf.writeUInt32LE(Op[s.op], at);
    at = buf.writeUInt32LE(s.args.length, at);
    for (const a of s.args) {
      if (typeof a === 'string') {
        const length = Buffer.byteLength(a) + 1;
        at = buf.writeUInt32LE(ArgType.STR, at);
        at = buf.writeUInt32LE(length, at);
        at += buf.write(a, at, 'utf8');
        at = buf.writeUInt8(0, at);
      } else if (Buffer.isBuffer(a)) {
        at = buf.writeUInt32LE(ArgType.BYTES, at);
        at = buf.writeUInt32LE(a.length, at);
        at += a.copy(buf, at);
      } else {
        at = buf.writeUInt32LE(ArgType.INT, at);
        at = buf.writeUInt32LE(8, at);
        if (typeof a === 'number' && Number.isSafeInteger(a)) {
          const high = Math.floor(a / 0x1_0000_0000); // two's complement halves, without a BigInt per number
          at = buf.writeInt32LE(high, buf.writeUInt32LE(a - high * 0x1_0000_0000, at));
        } else at = buf.writeBigInt64LE(BigInt.asIntN(64, BigInt(a)), at);
      }
    }
  }
  return buf;
}

/** The C header berth-init is compiled with: one source of truth for codes shared by both sides. */
export function cHeader(): string {
  const lines = ['/* Generated from native/plan.ts by the build. Do not edit. */', '#pragma once'];
  lines.push(`#define PLAN_MAGIC 0x${MAGIC.toString(16)}u`);
  for (const [k, v] of Object.entries(ArgType)) lines.push(`#define ARG_${k} ${v}`);
  for (const [k, v] of Object.entries(Op)) lines.push(`#define OP_${k} ${v}`);
  for (const [k, v] of Object.entries(Resolve)) lines.push(`#define RESOLVE_${k} ${v}`);
  for (const [k, v] of Object.entries(Slot)) lines.push(`#define SLOT_${k} ${v}`);
  for (const [k, v] of Object.entries(Msg)) lines.push(`#define MSG_${k} ${v}`);
  lines.push(`#define SLOT_COUNT ${Slot.IDMAPPED + IDMAPPED_SLOTS}`);
  for (const [k, v] of Object.entries(SyncTag)) lines.push(`#define SYNC_${k} ${v}`);
  return lines.join('\n') + '\n';
}
