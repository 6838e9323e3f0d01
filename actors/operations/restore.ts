// restore: a new container from a checkpoint's images. Like create it is checked first and leaves
// nothing when it fails; it records the container and makes its cgroup as create does, then CRIU
// rebuilds the processes in it — berth's children, with the restorer's stdio where the
// checkpointed process's stdio led outside, and a new terminal sent to the console socket.
import { closeSync, constants, mkdirSync, openSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { joinCgroup } from '../../native/cgroups/manager.js';
import { mountPointPlan } from '../../native/compile/mounts.js';
import { hasNewNamespace, loopbackPlan } from '../../native/compile/namespaces.js';
import { hasListener } from '../../native/compile/seccomp.js';
import { moveNetDevices } from '../../native/netDevices.js';
import { connectUnixSocket, ptyName, sendFd } from '../../native/console.js';
import { checkImages, openFolder, readStdioRecord } from '../../native/criu/images.js';
import { restoreOptions, type CriuFlags } from '../../native/criu/options.js';
import { runCriu } from '../../native/criu/swrk.js';
import { BerthError, isErrno } from '../../native/errors.js';
import { runInit } from '../../native/initProcess.js';
import { thisProcess } from '../../native/processParent.js';
import { procStat } from '../../native/procfs.js';
import { whyDead } from '../../native/signalling.js';
import { ConfigError } from '../../native/spec/validate.js';
import { bindMount, closeFd, detachMount } from '../../native/syscalls.js';
import type { Stdio } from '../messages.js';
import type { OperationContext } from './context.js';
import { endProcesses } from './teardown.js';
import { initialState, makeCgroup, prepareBundle, recordNewContainer, sourceKind, undoNewContainer } from './create.js';
import { checkConsole, stdioFds, type ConsoleRequest } from './stdio.js';
import { faultPoint } from '../faultPoint.js';

export interface RestoreRequest extends CriuFlags, ConsoleRequest {
  /** The CRIU binary, checked and absolute. */
  criu: string;
  imagePath: string;
  workPath?: string;
  bundle?: string;
  pidFile?: string;
  stdio?: Stdio;
  cgroupVersion?: 1 | 2;
  noCgroup?: boolean;
}

/** Everything that changes nothing: bad input fails here and leaves nothing. */
export function prepareRestore(ctx: OperationContext, req: RestoreRequest) {
  checkImages(req.imagePath);
  const prepared = prepareBundle(ctx, req);
  checkConsole(prepared.config.process?.terminal ?? false, req);
  // CRIU restores the filter, not its listener: the agent would get none, and NOTIFY's syscalls fail.
  if (hasListener(prepared.config.linux.seccomp)) throw new ConfigError('linux.seccomp', 'SCMP_ACT_NOTIFY: CRIU restores the filter without its listener, so its agent would get none: not restored');
  // CRIU wants the root to be a mount point whose parent is not overmounted: a bind of the rootfs.
  const root = join(ctx.dir, 'criu-root');
  const { opts, passFiles } = restoreOptions({
    config: prepared.config,
    bundle: prepared.bundle,
    root,
    cgroup: { layout: prepared.layout, paths: prepared.cgroupDirs },
    stdio: readStdioRecord(req.imagePath),
    flags: req,
  });
  return { ...prepared, root, opts, passFiles };
}

/** The terminal CRIU made for the restored process: to the console socket, or back to the caller. */
function routeTerminal(req: RestoreRequest, master: number): number | undefined {
  if (req.returnTerminal && !req.consoleSocket) return master;
  try {
    if (req.consoleSocket) {
      const sock = connectUnixSocket(req.consoleSocket);
      try {
        sendFd(sock, master, ptyName(master), req.consoleSocket);
      } finally {
        closeFd(sock);
      }
    }
  } finally {
    closeFd(master);
  }
  return undefined;
}

/** Restore the container; resolves with its terminal's master when it was asked back. */
export async function restoreContainer(ctx: OperationContext, req: RestoreRequest, prepared: ReturnType<typeof prepareRestore>): Promise<number | undefined> {
  const state = initialState(ctx, prepared);
  const opened: number[] = [];
  let mounted = false;
  let terminal: number | undefined;
  // Before anything removes the state folder: the bind below it is the container's rootfs.
  const unmountRoot = () => {
    if (mounted) detachMount(prepared.root);
    mounted = false;
    try {
      rmdirSync(prepared.root);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  };
  try {
    recordNewContainer(ctx, prepared, state);
    await makeCgroup(ctx, prepared, state);
    mkdirSync(prepared.root);
    bindMount(prepared.rootfs, prepared.root);
    mounted = true;
    // A checkpoint restored into a fresh rootfs (podman's restore --import) finds no mount points there.
    const points = mountPointPlan(prepared.config, prepared.root, { bundle: prepared.bundle, sourceKind });
    await runInit({ plan: points, parent: thisProcess, stdio: ['ignore', 'ignore', 'ignore'], onPid: () => {} });
    const images = openFolder(req.imagePath, 'image path', false);
    opened.push(images);
    const work = req.workPath === undefined ? undefined : openFolder(req.workPath, 'work path', true);
    if (work !== undefined) opened.push(work);
    const passFds = prepared.passFiles.map((p) => openSync(p, constants.O_RDONLY));
    opened.push(...passFds);
    // What CRIU forked and restored so far is in the container's cgroup: a call that ended ends it
    // with CRIU (its restored root holds CRIU's socket too).
    const abandoned = () => void endProcesses(state).catch(() => {});
    ctx.parent.gone?.addEventListener('abort', abandoned, { once: true });
    const resp = await runCriu({
      criu: req.criu,
      parent: ctx.parent,
      type: 'RESTORE',
      opts: { ...prepared.opts, imagesDirFd: images, workDirFd: work },
      stdio: stdioFds(req.stdio),
      passFds,
      logPath: join(resolve(req.workPath ?? req.imagePath), prepared.opts.logFile!),
      signal: ctx.parent.gone,
      // CRIU's restored processes start where CRIU is: in the container's cgroup, whatever the cgroup mode.
      onSpawned: (pid) => joinCgroup(state.berth.cgroup!, pid),
      onNotify: (script, _pid, fd) => {
        if (fd === undefined) return;
        if (script === 'orphan-pts-master') terminal = routeTerminal(req, fd);
        else closeFd(fd);
      },
    }).finally(() => ctx.parent.gone?.removeEventListener('abort', abandoned));
    unmountRoot();
    const pid = resp.restore?.pid ?? 0;
    state.pid = pid;
    state.berth.pidStartTime = procStat(pid)?.startTime ?? 0;
    const dead = pid ? whyDead(pid, state.berth.pidStartTime) : 'CRIU named no pid';
    if (dead) throw new BerthError(`the restored process died before it was recorded: ${dead}`);
    faultPoint('restore.restored');
    if (hasNewNamespace(prepared.config, 'network')) {
      // Harmless when CRIU restored lo up already; needed when the checkpoint left the network out.
      await runInit({ plan: loopbackPlan(pid), parent: thisProcess, stdio: ['ignore', 'ignore', 'ignore'], onPid: () => {} });
      // The devices left the namespace when the checkpointed one died (CRIU cannot dump them): moved in again.
      moveNetDevices(prepared.config.linux.netDevices ?? {}, pid);
    }
    ctx.state = state;
    return terminal;
  } catch (e) {
    if (terminal !== undefined) closeFd(terminal);
    unmountRoot();
    await undoNewContainer(ctx, state, 'restore', e);
    throw e;
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}
