// Syscall names real on Linux architectures berth has no table for, or newer than the kernel
// headers its tables come from. Profiles written for every architecture (Docker's, podman's) name
// them; they are skipped where unknown, as runc and crun do. A name in no table and not here is a
// typo, and an error. (Written from the kernel's syscall tables; not a copy of any list.)
export const namesWithoutNumbers: ReadonlySet<string> = new Set([
  // arm
  'arm_fadvise64_64', 'arm_sync_file_range', 'breakpoint', 'cacheflush', 'set_tls', 'usr26', 'usr32', 'sync_file_range2',
  // arm, mips, parisc, ppc, sparc and others still have these socket calls of their own
  'recv', 'send', 'timerfd', 'syscall',
  // alpha, ppc, sparc
  'pciconfig_iobase', 'pciconfig_read', 'pciconfig_write', 'swapcontext', 'subpage_prot', 'switch_endian', 'spu_create', 'spu_run', 'multiplexer', 'rtas', 'sys_debug_setcontext',
  // s390
  's390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr', 's390_guarded_storage', 's390_sthyi',
  // mips, m68k, riscv
  'sysmips', 'cachectl', 'atomic_cmpxchg_32', 'atomic_barrier', 'riscv_flush_icache', 'riscv_hwprobe',
  // added after Linux 6.1
  'cachestat', 'fchmodat2', 'map_shadow_stack', 'futex_wake', 'futex_wait', 'futex_requeue', 'statmount', 'listmount',
  'lsm_get_self_attr', 'lsm_set_self_attr', 'lsm_list_modules', 'mseal', 'setxattrat', 'getxattrat', 'listxattrat', 'removexattrat',
  'open_tree_attr', 'uretprobe', 'file_getattr', 'file_setattr',
]);
