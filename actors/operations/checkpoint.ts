// checkpoint: CRIU dumps the container's processes into an image folder. The machine lets it
// through for a running (or paused) container; without --leave-running CRIU ends the processes and
// the container is stopped, ready to be deleted or restored elsewhere.
import { closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freeze, isFrozen, thaw } from '../../native/cgroups/freezer.js';
import { hostLayout } from '../../native/cgroups/layout.js';
import { mountIds, namespaceInodes, stdioFacts } from '../../native/criu/facts.js';
import { openFolder, writeStdioRecord } from '../../native/criu/images.js';
import { dumpOptions, type DumpFlags } from '../../native/criu/options.js';
import { runCriu } from '../../native/criu/swrk.js';
import { thisProcess } from '../../native/processParent.js';
import { readConfig } from '../stateStore.js';
import { requireState, type OperationContext } from './context.js';
import { faultPoint } from '../faultPoint.js';

export interface CheckpointRequest extends DumpFlags {
  /** The CRIU binary, checked and absolute. */
  criu: string;
  imagePath: string;
  /** Where CRIU writes its log and work files; the image folder when absent. */
  workPath?: string;
}

/** Dump the container; resolves with whether its processes still run. */
export async function checkpointContainer(ctx: OperationContext, req: CheckpointRequest): Promise<boolean> {
  const state = requireState(ctx);
  const config = readConfig(ctx.dir);
  const record = state.berth.cgroup;
  const { type, opts, stdio } = dumpOptions({
    config,
    pid: state.pid,
    rootfs: state.rootfs,
    cgroup: record ? { layout: hostLayout(record.version), paths: record.paths } : null,
    stdio: stdioFacts(state.pid),
    containerMountIds: mountIds(state.pid),
    namespaceInodes: namespaceInodes(config),
    flags: req,
  });
  const images = openFolder(req.imagePath, 'image path', true);
  const work = req.workPath === undefined ? undefined : openFolder(req.workPath, 'work path', true);
  const stillRunning = type === 'PRE_DUMP' || req.leaveRunning === true;
  // Frozen here, the dump starts sooner (freezer.ts); the processes that go on are thawed after it.
  // A paused container stays as it is: frozen, and not this operation's to thaw.
  const frozenHere = opts.freezeCgroup !== undefined && !isFrozen(record!);
  try {
    if (frozenHere) await freeze(record!);
    writeStdioRecord(req.imagePath, stdio);
    const logPath = join(resolve(req.workPath ?? req.imagePath), opts.logFile!);
    await runCriu({ criu: req.criu, parent: thisProcess, type, opts: { ...opts, imagesDirFd: images, workDirFd: work }, stdio: ['ignore', 'ignore', 'ignore'], logPath, signal: ctx.parent.gone });
    faultPoint('checkpoint.dumped');
    if (frozenHere && stillRunning) thaw(record!);
  } catch (e) {
    if (frozenHere) thaw(record!);
    throw e;
  } finally {
    closeSync(images);
    if (work !== undefined) closeSync(work);
  }
  return stillRunning;
}
