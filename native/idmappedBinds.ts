// Idmapped binds, on berth's side: berth has the host's privileges over a bind's source mount and
// berth-init, by then in the container's user namespace, no longer does. So berth clones each
// source as a detached mount, idmaps it (mount_setattr), and hands the fd to berth-init at its
// IDMAPPED_MOUNTS step, which attaches it in the container (MOVE_MOUNT).
import { closeSync, openSync } from 'node:fs';
import { CLONE_FLAGS } from './compile/namespaces.js';
import { writeIdMaps } from './idMaps.js';
import type { IdmappedBind } from './compile/mounts.js';
import { runInit } from './initProcess.js';
import { step, SyncTag } from './plan.js';
import { thisProcess } from './processParent.js';
import type { IdMapping } from './spec/config.js';
import { closeFd, idmappedTree } from './syscalls.js';

/** A user namespace with these mappings, held by the fd returned (the process that made it is gone). */
async function userNamespaceWith(uidMappings: IdMapping[], gidMappings: IdMapping[]): Promise<number> {
  let fd = -1;
  const plan = [step('UNSHARE', 'make a user namespace for an idmapped bind', CLONE_FLAGS.user), step('SYNC', 'have its maps written', SyncTag.ID_MAPS), step('READY', 'report')];
  await runInit({
    plan,
    parent: thisProcess,
    stdio: ['ignore', 'ignore', 'ignore'],
    onPid: () => {},
    syncs: {
      [SyncTag.ID_MAPS]: (pid) => {
        writeIdMaps(pid, uidMappings, gidMappings);
        fd = openSync(`/proc/${pid}/ns/user`, 'r');
      },
    },
  });
  return fd;
}

/** Make BINDS, each mapped through its own mappings or the user namespace of STAGE1, and send each with SEND_FD, in order. */
export async function sendIdmappedBinds(binds: IdmappedBind[], stage1: number, sendFd: (fd: number) => void): Promise<void> {
  for (const b of binds) {
    const userns = b.uidMappings ? await userNamespaceWith(b.uidMappings, b.gidMappings!) : openSync(`/proc/${stage1}/ns/user`, 'r');
    try {
      const tree = idmappedTree(b.source, b.recursive, userns);
      try {
        sendFd(tree);
      } finally {
        closeFd(tree);
      }
    } finally {
      closeSync(userns);
    }
  }
}
