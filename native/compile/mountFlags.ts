// mount(2) flags and the config.json option words that set or clear them, as tables.

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  I_VERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** Option words that set (or, with `clear`, unset) mount flags. */
export const flagOptions: Readonly<Record<string, { set?: number; clear?: number }>> = {
  defaults: {},
  ro: { set: MS.RDONLY },
  rw: { clear: MS.RDONLY },
  nosuid: { set: MS.NOSUID },
  suid: { clear: MS.NOSUID },
  nodev: { set: MS.NODEV },
  dev: { clear: MS.NODEV },
  noexec: { set: MS.NOEXEC },
  exec: { clear: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS },
  async: { clear: MS.SYNCHRONOUS },
  dirsync: { set: MS.DIRSYNC },
  remount: { set: MS.REMOUNT },
  mand: { set: MS.MANDLOCK },
  nomand: { clear: MS.MANDLOCK },
  atime: { clear: MS.NOATIME },
  noatime: { set: MS.NOATIME },
  diratime: { clear: MS.NODIRATIME },
  nodiratime: { set: MS.NODIRATIME },
  relatime: { set: MS.RELATIME },
  norelatime: { clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  iversion: { set: MS.I_VERSION },
  noiversion: { clear: MS.I_VERSION },
  lazytime: { set: MS.LAZYTIME },
  nolazytime: { clear: MS.LAZYTIME },
  nosymfollow: { set: MS.NOSYMFOLLOW },
  symfollow: { clear: MS.NOSYMFOLLOW },
  silent: { set: MS.SILENT },
  loud: { clear: MS.SILENT },
  bind: { set: MS.BIND },
  rbind: { set: MS.BIND | MS.REC },
};

/** Option words that change propagation; applied after the mount, in order. */
export const propagationOptions: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** mount_setattr(2) attributes (MOUNT_ATTR_*); the atime ones are a 3-bit field. */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  ATIME_FIELD: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
} as const;

const A = MOUNT_ATTR;
const on = (attr: number) => ({ set: attr, clear: 0 });
const off = (attr: number) => ({ set: 0, clear: attr });
const atime = (mode: number) => ({ set: mode, clear: A.ATIME_FIELD });

/** runc's and crun's recursive words: an attribute set or cleared on the mount and every mount below it. */
export const recursiveOptions: Readonly<Record<string, { set: number; clear: number }>> = {
  rro: on(A.RDONLY), rrw: off(A.RDONLY),
  rnosuid: on(A.NOSUID), rsuid: off(A.NOSUID),
  rnodev: on(A.NODEV), rdev: off(A.NODEV),
  rnoexec: on(A.NOEXEC), rexec: off(A.NOEXEC),
  rnodiratime: on(A.NODIRATIME), rdiratime: off(A.NODIRATIME),
  rnosymfollow: on(A.NOSYMFOLLOW), rsymfollow: off(A.NOSYMFOLLOW),
  rrelatime: atime(A.RELATIME),
  rnorelatime: atime(A.STRICTATIME),
  rnoatime: atime(A.NOATIME),
  ratime: atime(A.RELATIME),
  rstrictatime: atime(A.STRICTATIME),
  rnostrictatime: atime(A.RELATIME),
};

/** Words that ask berth itself to do something beyond mount(2). */
export const extensionOptions = {
  /** Copy what the tmpfs hides into it (podman's --tmpfs and --read-only ask for it). */
  tmpcopyup: 'tmpfs',
  /** An idmapped bind (mount_setattr's MOUNT_ATTR_IDMAP): of the mount itself, or recursively. */
  idmap: 'bind',
  ridmap: 'bind',
} as const;

const selinuxWords = ['context', 'fscontext', 'defcontext', 'rootcontext'];

/**
 * File-system words (`size=64k`) berth knows, by file-system type; any other word for these types
 * is refused by name. Words for other types go to the kernel, which is their judge.
 */
export const dataOptions: Readonly<Record<string, readonly string[]>> = {
  tmpfs: ['size', 'nr_blocks', 'nr_inodes', 'mode', 'uid', 'gid', 'huge', 'mpol', 'inode32', 'inode64', 'noswap', 'quota', 'usrquota', 'grpquota', 'usrquota_block_hardlimit', 'usrquota_inode_hardlimit', 'grpquota_block_hardlimit', 'grpquota_inode_hardlimit', ...selinuxWords],
  devpts: ['newinstance', 'ptmxmode', 'mode', 'gid', 'uid', 'max', ...selinuxWords],
  proc: ['hidepid', 'gid', 'subset'],
  sysfs: selinuxWords,
  mqueue: selinuxWords,
};

export interface ParsedOptions {
  flags: number;
  propagation: number[];
  /** mount_setattr attributes for the mount and every mount below it (rro, rnosuid, …). */
  recursive: { set: number; clear: number };
  copyUp: boolean;
  /** idmap (the mount alone) or ridmap (and every mount below it). */
  idmap: 'idmap' | 'ridmap' | null;
  /** File-system specific words (`mode=755`, `size=64k`, `newinstance`), passed as mount data. */
  data: string[];
}

/** Thrown for a word berth will not pass on; the caller names where it is (`mounts[2].options[1]`). */
export class MountOptionError extends Error {
  constructor(readonly index: number, message: string) {
    super(message);
  }
}

/**
 * OPTIONS of a mount of TYPE (undefined: a bind) as flags, propagation, recursive attributes,
 * extensions and data. Throws MountOptionError for a word berth knows it cannot apply.
 */
export function parseMountOptions(options: string[], type?: string): ParsedOptions {
  let flags = 0;
  const propagation: number[] = [];
  const recursive = { set: 0, clear: 0 };
  let copyUp = false;
  let idmap: ParsedOptions['idmap'] = null;
  const data: string[] = [];
  options.forEach((o, i) => {
    const f = flagOptions[o];
    if (f) {
      flags = (flags | (f.set ?? 0)) & ~(f.clear ?? 0);
      return;
    }
    const p = propagationOptions[o];
    if (p !== undefined) return propagation.push(p);
    const r = recursiveOptions[o];
    if (r) {
      recursive.set = (recursive.set & ~r.clear) | r.set;
      recursive.clear = (recursive.clear & ~r.set) | r.clear;
      return;
    }
    if (o === 'tmpcopyup') {
      if (type !== extensionOptions.tmpcopyup) throw new MountOptionError(i, 'tmpcopyup is for tmpfs mounts only');
      copyUp = true;
      return;
    }
    if (o === 'idmap' || o === 'ridmap') {
      if (type !== undefined && type !== 'bind') throw new MountOptionError(i, `${o} is for bind mounts only`);
      idmap = o;
      return;
    }
    const key = o.split('=')[0]!;
    if (type === undefined) {
      // A bind has no file system of its own: key=value words mean nothing to it (runc ignores them too).
      if (o.includes('=')) return;
      throw new MountOptionError(i, `"${o}" is not a mount option berth knows`);
    }
    const known = dataOptions[type];
    if (known && !known.includes(key)) throw new MountOptionError(i, `"${o}" is not a mount option berth knows for ${type}`);
    data.push(o);
  });
  return { flags, propagation, recursive, copyUp, idmap, data };
}
