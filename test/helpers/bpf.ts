// A classic BPF interpreter for seccomp filters, written from the BPF instruction set (not from
// berth's assembler), so that berth's programs and libseccomp's can be run on the same input.

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  args?: bigint[];
}

/** struct seccomp_data, little endian. */
function encode(d: SeccompData): Buffer {
  const b = Buffer.alloc(64);
  b.writeInt32LE(d.nr | 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(d.instructionPointer ?? 0n, 8);
  (d.args ?? []).forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  return b;
}

const CLASS = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, RET: 0x06, MISC: 0x07 };

/** Run PROGRAM (struct sock_filter[]) on DATA; returns the filter's 32-bit verdict. */
export function runFilter(program: Buffer, data: SeccompData): number {
  const input = encode(data);
  const mem = new Uint32Array(16);
  let a = 0;
  let x = 0;
  const count = program.length / 8;
  for (let pc = 0; pc < count; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    const src = code & 0x08 ? x : k;
    switch (code & 0x07) {
      case CLASS.LD:
      case CLASS.LDX: {
        const mode = code & 0xe0;
        let v: number;
        if (mode === 0x20) {
          // seccomp allows only aligned 32-bit loads inside seccomp_data.
          if ((code & 0x18) !== 0 || k % 4 !== 0 || k + 4 > 64) throw new Error(`bad load at ${pc}`);
          v = input.readUInt32LE(k);
        } else if (mode === 0x00) v = k;
        else if (mode === 0x60) v = mem[k]!;
        else if (mode === 0x80) v = 64;
        else throw new Error(`unsupported load 0x${code.toString(16)} at ${pc}`);
        if ((code & 0x07) === CLASS.LD) a = v;
        else x = v;
        break;
      }
      case CLASS.ST:
        mem[k] = a;
        break;
      case CLASS.STX:
        mem[k] = x;
        break;
      case CLASS.ALU: {
        const op = code & 0xf0;
        const ops: Record<number, () => number> = {
          0x00: () => a + src,
          0x10: () => a - src,
          0x20: () => Math.imul(a, src),
          0x30: () => Math.floor((a >>> 0) / (src >>> 0)),
          0x40: () => a | src,
          0x50: () => a & src,
          0x60: () => (src >= 32 ? 0 : a << src),
          0x70: () => (src >= 32 ? 0 : a >>> src),
          0x80: () => -a,
          0x90: () => (a >>> 0) % (src >>> 0),
          0xa0: () => a ^ src,
        };
        if (!ops[op]) throw new Error(`unsupported ALU 0x${code.toString(16)} at ${pc}`);
        a = ops[op]() >>> 0;
        break;
      }
      case CLASS.JMP: {
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const ua = a >>> 0;
        const us = src >>> 0;
        const taken = op === 0x10 ? ua === us : op === 0x20 ? ua > us : op === 0x30 ? ua >= us : op === 0x40 ? (ua & us) !== 0 : undefined;
        if (taken === undefined) throw new Error(`unsupported jump 0x${code.toString(16)} at ${pc}`);
        pc += taken ? jt : jf;
        break;
      }
      case CLASS.RET:
        return ((code & 0x18) === 0x10 ? a : k) >>> 0;
      case CLASS.MISC:
        if ((code & 0xf8) === 0x00) x = a;
        else a = x;
        break;
    }
  }
  throw new Error('the filter ran off its end');
}
