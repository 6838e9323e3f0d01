// cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the device policy.
// The kernel runs it on every open and mknod of a device node by a process of the cgroup, with
// struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; } in
// R1, and lets the access through when it returns 1.
import type { DevicePolicy, DeviceRule } from './devices.js';

/** struct bpf_insn: u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** Opcode parts (linux/bpf_common.h, linux/bpf.h): class | operation | source. */
export const OP = {
  LDX_MEM_W: 0x01 | 0x60 | 0x00,
  ALU32_AND_K: 0x04 | 0x50 | 0x00,
  ALU32_RSH_K: 0x04 | 0x70 | 0x00,
  ALU32_MOV_K: 0x04 | 0xb0 | 0x00,
  JA: 0x05 | 0x00,
  /** 32-bit compares (BPF_JMP32): majors and minors are u32, and no sign extension gets in the way. */
  JMP32_JNE_K: 0x06 | 0x50 | 0x00,
  JMP32_JSET_K: 0x06 | 0x40 | 0x00,
  EXIT: 0x05 | 0x90,
} as const;

const DEV_TYPE = { b: 1, c: 2 } as const;
const DEV_ACCESS = { m: 1, r: 2, w: 4 } as const;

const INSN_SIZE = 8;

export function encodeInsns(insns: Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * INSN_SIZE);
  insns.forEach((insn, i) => {
    const at = i * INSN_SIZE;
    buf.writeUInt8(insn.code, at);
    buf.writeUInt8((insn.src << 4) | insn.dst, at + 1);
    buf.writeInt16LE(insn.off, at + 2);
    buf.writeInt32LE(insn.imm | 0, at + 4);
  });
  return buf;
}

/** Forward jumps by label, resolved once the program is complete. */
class Assembler {
  private readonly insns: (Insn & { to?: string })[] = [];
  private readonly labels = new Map<string, number>();
  private next = 0;

  emit(code: number, dst = 0, src = 0, off = 0, imm = 0): void {
    this.insns.push({ code, dst, src, off, imm });
  }

  /** A conditional or unconditional jump to TO. */
  jump(code: number, to: string, dst = 0, imm = 0): void {
    this.insns.push({ code, dst, src: 0, off: 0, imm, to });
  }

  newLabel(): string {
    return `L${this.next++}`;
  }

  place(label: string): void {
    this.labels.set(label, this.insns.length);
  }

  finish(): Insn[] {
    return this.insns.map(({ to, ...insn }, pc) => (to === undefined ? insn : { ...insn, off: this.labels.get(to)! - pc - 1 }));
  }
}

const R0 = 0;
const R1 = 1;
const TYPE = 2;
const ACCESS = 3;
const MAJOR = 4;
const MINOR = 5;

/**
 * For each access the kernel asks about (mknod, read, write), the last rule that matches the device
 * and names that access decides; with none, the base rule does. Any denied access denies the call.
 */
export function deviceFilterInsns(policy: DevicePolicy): Insn[] {
  const a = new Assembler();
  a.emit(OP.LDX_MEM_W, TYPE, R1, 0);
  a.emit(OP.ALU32_AND_K, TYPE, 0, 0, 0xffff);
  a.emit(OP.LDX_MEM_W, ACCESS, R1, 0);
  a.emit(OP.ALU32_RSH_K, ACCESS, 0, 0, 16);
  a.emit(OP.LDX_MEM_W, MAJOR, R1, 4);
  a.emit(OP.LDX_MEM_W, MINOR, R1, 8);
  const deny = () => {
    a.emit(OP.ALU32_MOV_K, R0, 0, 0, 0);
    a.emit(OP.EXIT);
  };
  for (const [letter, bit] of Object.entries(DEV_ACCESS)) {
    const nextAccess = a.newLabel();
    const asked = a.newLabel();
    a.jump(OP.JMP32_JSET_K, asked, ACCESS, bit);
    a.jump(OP.JA, nextAccess);
    a.place(asked);
    for (const rule of policy.rules.filter((r) => r.access.includes(letter)).reverse()) {
      const nextRule = a.newLabel();
      matchDevice(a, rule, nextRule);
      if (rule.allow) a.jump(OP.JA, nextAccess);
      else deny();
      a.place(nextRule);
    }
    if (!policy.base.allow) deny();
    a.place(nextAccess);
  }
  a.emit(OP.ALU32_MOV_K, R0, 0, 0, 1);
  a.emit(OP.EXIT);
  return a.finish();
}

/** Jump to MISS unless the device is the rule's. */
function matchDevice(a: Assembler, rule: DeviceRule, miss: string): void {
  a.jump(OP.JMP32_JNE_K, miss, TYPE, DEV_TYPE[rule.type as 'b' | 'c']);
  if (rule.major !== null) a.jump(OP.JMP32_JNE_K, miss, MAJOR, rule.major);
  if (rule.minor !== null) a.jump(OP.JMP32_JNE_K, miss, MINOR, rule.minor);
}

export const deviceFilterProgram = (policy: DevicePolicy): Buffer => encodeInsns(deviceFilterInsns(policy));
