// The architectures berth has syscall tables for, as seccomp sees them: the arch value in
// seccomp_data, the syscall numbers, and how wide the arguments the kernel acts on are.
import { aarch64 } from './syscalls/aarch64.js';
import { x32 } from './syscalls/x32.js';
import { x86 } from './syscalls/x86.js';
import { x86_64 } from './syscalls/x86_64.js';

export interface Architecture {
  /** seccomp_data.arch: AUDIT_ARCH_* from linux/audit.h. */
  audit: number;
  syscalls: Readonly<Record<string, number>>;
  /**
   * 32 when the syscalls see only the low half of each argument register. seccomp_data still
   * carries 64 bits, and the high half is whatever the caller left there (a 64-bit program can
   * make 32-bit calls through int 0x80), so the filter must compare the low halves only.
   */
  argBits: 32 | 64;
  /** process.arch of a Node.js running on it, for the native architecture. */
  node?: string;
}

// linux/audit.h: EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
const AUDIT_64BIT = 0x80000000;
const AUDIT_LE = 0x40000000;
const audit = (machine: number, bits: 32 | 64) => ((bits === 64 ? AUDIT_64BIT : 0) | AUDIT_LE | machine) >>> 0;
const EM_386 = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

/**
 * x32 runs on the x86_64 arch value: its syscall numbers (in the table, as the kernel sees them)
 * carry this bit. An x86_64 filter that did not look at it would let every x32 call through.
 */
export const X32_SYSCALL_BIT = 0x40000000;

export const architectures: Readonly<Record<string, Architecture>> = {
  SCMP_ARCH_X86_64: { audit: audit(EM_X86_64, 64), syscalls: x86_64, argBits: 64, node: 'x64' },
  SCMP_ARCH_X86: { audit: audit(EM_386, 32), syscalls: x86, argBits: 32, node: 'ia32' },
  // x32 programs pass 64-bit registers, and most x32 syscalls are the x86_64 ones, which read all
  // 64 bits: comparing only the low halves, as libseccomp does for x32, would let the high ones through.
  SCMP_ARCH_X32: { audit: audit(EM_X86_64, 64), syscalls: x32, argBits: 64 },
  SCMP_ARCH_AARCH64: { audit: audit(EM_AARCH64, 64), syscalls: aarch64, argBits: 64, node: 'arm64' },
};

/** Architectures the runtime spec names that berth has no syscall table for. */
export const tablelessArchitectures: readonly string[] = [
  'SCMP_ARCH_ARM', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64',
];

/** The SCMP_ARCH_ name of the machine berth runs on (process.arch), or undefined without a table. */
export function nativeArchitecture(nodeArch: string): string | undefined {
  return Object.keys(architectures).find((name) => architectures[name]!.node === nodeArch);
}
