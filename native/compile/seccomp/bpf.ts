// Classic BPF as seccomp runs it: the opcodes berth emits, and an assembler whose jumps name labels.
// Conditional jumps reach at most 255 instructions ahead; the assembler routes longer ones through
// an unconditional `ja`, whose offset is 32 bits.

/** Opcodes: class | size | mode, class | op | source (linux/bpf_common.h). */
export const BPF = {
  LD_W_ABS: 0x20, // A = seccomp_data[k] (32 bits)
  ALU_AND_K: 0x54, // A &= k
  JA: 0x05, // pc += k
  JEQ_K: 0x15, // pc += A == k ? jt : jf
  JGT_K: 0x25, // unsigned A > k
  JGE_K: 0x35, // unsigned A >= k
  RET_K: 0x06, // return k
} as const;

/** The kernel's limit on a filter's length (BPF_MAXINSNS). */
export const MAX_INSTRUCTIONS = 4096;
const MAX_JUMP = 255;

/** A place in the program; placed once, jumped to from anywhere before it. */
export class Label {}

interface Instruction {
  code: number;
  k: number;
  /** Conditional jumps: where to go when the test holds or fails. */
  jt?: Label;
  jf?: Label;
  /** JA: where to go. */
  to?: Label;
}

export class Assembler {
  private items: (Instruction | Label)[] = [];

  label(): Label {
    return new Label();
  }

  place(label: Label): void {
    this.items.push(label);
  }

  load(offset: number): void {
    this.items.push({ code: BPF.LD_W_ABS, k: offset });
  }

  and(k: number): void {
    this.items.push({ code: BPF.ALU_AND_K, k });
  }

  ret(k: number): void {
    this.items.push({ code: BPF.RET_K, k });
  }

  jump(code: number, k: number, jt: Label, jf: Label): void {
    this.items.push({ code, k, jt, jf });
  }

  goto(to: Label): void {
    this.items.push({ code: BPF.JA, k: 0, to });
  }

  /** struct sock_filter[] as the kernel reads it: u16 code, u8 jt, u8 jf, u32 k, little endian. */
  assemble(): Buffer {
    this.lengthenJumps();
    const at = this.positions();
    const code = this.items.filter((i): i is Instruction => !(i instanceof Label));
    const out = Buffer.alloc(code.length * 8);
    code.forEach((insn, pc) => {
      const offset = (l: Label) => at.get(l)! - pc - 1;
      out.writeUInt16LE(insn.code, pc * 8);
      out.writeUInt8(insn.jt ? offset(insn.jt) : 0, pc * 8 + 2);
      out.writeUInt8(insn.jf ? offset(insn.jf) : 0, pc * 8 + 3);
      out.writeUInt32LE((insn.to ? offset(insn.to) : insn.k) >>> 0, pc * 8 + 4);
    });
    return out;
  }

  /** Instruction index of every label; every jump must go forward to a placed label. */
  private positions(): Map<Label, number> {
    const at = new Map<Label, number>();
    let pc = 0;
    for (const item of this.items) {
      if (item instanceof Label) at.set(item, pc);
      else pc++;
    }
    pc = 0;
    for (const item of this.items) {
      if (item instanceof Label) continue;
      for (const t of [item.jt, item.jf, item.to]) if (t && !(at.get(t)! > pc)) throw new Error('BPF jump to an unplaced label or backwards');
      pc++;
    }
    return at;
  }

  /**
   * A conditional jump past 255 instructions goes to a `ja` placed right after it instead.
   * Nothing falls through into that `ja` (the jump before it always jumps), and adding it can
   * only lengthen other jumps: repeat until none is too far.
   */
  private lengthenJumps(): void {
    for (let changed = true; changed; ) {
      changed = false;
      const at = this.positions();
      const out: (Instruction | Label)[] = [];
      let pc = 0;
      for (const item of this.items) {
        out.push(item);
        if (item instanceof Label) continue;
        const far = (l: Label | undefined): l is Label => l !== undefined && at.get(l)! - pc - 1 > MAX_JUMP;
        const trampolines = new Map<Label, Label>();
        for (const target of [item.jt, item.jf]) {
          if (!far(target) || trampolines.has(target)) continue;
          const hop = this.label();
          trampolines.set(target, hop);
          out.push(hop, { code: BPF.JA, k: 0, to: target });
        }
        if (trampolines.size) {
          item.jt = trampolines.get(item.jt!) ?? item.jt;
          item.jf = trampolines.get(item.jf!) ?? item.jf;
          changed = true;
        }
        pc++;
      }
      this.items = out;
    }
  }
}
