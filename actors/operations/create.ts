// create: check everything that can be checked first (linux.resources included), then record, make
// the cgroup and put the limits in, and run berth-init up to READY. Any failure after the state
// folder exists undoes all of it.
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { applyResources, cgroupFacts } from '../../native/cgroups/apply.js';
import { berthDeviceRules } from '../../native/cgroups/devices.js';
import { containerCgroupDirs, createCgroup, defaultCgroupsPath, delegatedCgroupDirs, delegatedCgroups, planCgroup } from '../../native/cgroups/manager.js';
import { hostLayout } from '../../native/cgroups/layout.js';
import { resourceWrites } from '../../native/cgroups/resources.js';
import { capabilityMasks } from '../../native/compile/capabilities.js';
import { compileInitPlan } from '../../native/compile/initPlan.js';
import { ignoredLsmFields } from '../../native/compile/lsm.js';
import { idmappedBinds, ownMountNamespace } from '../../native/compile/mounts.js';
import { tablelessArchitecturesOf } from '../../native/compile/seccomp.js';
import type { CompileContext } from '../../native/compile/context.js';
import { BerthError, isErrno } from '../../native/errors.js';
import { writeIdMaps } from '../../native/idMaps.js';
import { sendIdmappedBinds } from '../../native/idmappedBinds.js';
import { runInit } from '../../native/initProcess.js';
import { moveNetDevices } from '../../native/netDevices.js';
import { SyncTag } from '../../native/plan.js';
import { lastCapability, lsmHost, procStat, rootless } from '../../native/procfs.js';
import { whyDead } from '../../native/signalling.js';
import type { Config } from '../../native/spec/config.js';
import { ConfigError, parseConfig } from '../../native/spec/validate.js';
import type { Logger } from '../log.js';
import type { CreateOptions } from '../messages.js';
import { fifoPath, makeStartFifo, OCI_VERSION, writeConfig, type StateFile } from '../stateStore.js';
import { hookState, inContainerHooks, saveState, sendSeccompListener, specState, type OperationContext } from './context.js';
import { checkConsole, openConsole, stdioFds, type ConsoleRoute } from './stdio.js';
import { teardown } from './teardown.js';
import { faultPoint } from '../faultPoint.js';

export interface CreateRequest extends CreateOptions {
  /** Which cgroup version to manage the container with; the host's when absent. */
  cgroupVersion?: 1 | 2;
  /** No cgroup (crun's --cgroup-manager disabled), as a rootless berth's container has none. */
  noCgroup?: boolean;
}

/** The bundle's config; fields berth does not know are ignored, as the spec wants, and named in a warning. */
export function loadBundleConfig(bundle: string, log: Logger): Config {
  let text: string;
  try {
    text = readFileSync(resolve(bundle, 'config.json'), 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) throw new BerthError(`bundle ${bundle}: no config.json there`, 'invalid');
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BerthError(`${resolve(bundle, 'config.json')}: invalid JSON: ${(e as Error).message}`, 'invalid');
  }
  const ignored: string[] = [];
  const config = parseConfig(raw, ignored);
  if (ignored.length) log.warn(`config.json: fields this berth does not know are ignored: ${ignored.join(', ')}`);
  return config;
}

function rootfsOf(bundle: string, config: Config): string {
  const path = resolve(bundle, config.root.path);
  try {
    const real = realpathSync(path);
    if (!statSync(real).isDirectory()) throw new ConfigError('root.path', `"${path}" is not a directory`);
    return real;
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) throw new ConfigError('root.path', `"${path}" does not exist`);
    throw e;
  }
}

/** Hook paths that resolve in berth's namespaces must be there and executable now (startContainer's resolve in the container). */
function checkHookPaths(config: Config): void {
  for (const [kind, hooks] of Object.entries(config.hooks ?? {})) {
    if (kind === 'startContainer') continue;
    hooks.forEach((hook, i) => {
      try {
        accessSync(hook.path, constants.X_OK);
      } catch (e) {
        throw new ConfigError(`hooks.${kind}[${i}].path`, `"${hook.path}" ${isErrno(e, 'ENOENT', 'ENOTDIR') ? 'does not exist' : 'is not executable'}`);
      }
    });
  }
}

/** The compile context of a container: its own facts, and this host's. */
export function compileContextOf(own: Omit<CompileContext, 'lastCap' | 'arch' | 'lsm' | 'sourceKind' | 'rootless'>): CompileContext {
  return { ...own, lastCap: lastCapability(), arch: process.arch, lsm: lsmHost(), sourceKind, rootless: rootless() };
}

export function sourceKind(path: string): 'dir' | 'file' | null {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

/**
 * A rootless container (procfs.rootless) without a delegated cgroup2 subtree has no cgroup: on
 * cgroup v1 a user has none of its own. A limit is then one line naming it; device rules are
 * skipped, as nothing can reach a device the user namespace does not.
 */
function noLimits(config: Config, why: string): [] {
  for (const [key, value] of Object.entries(config.linux.resources ?? {}))
    if (key !== 'devices' && value !== undefined) throw new ConfigError(`linux.resources.${key}`, `needs a cgroup, and ${why}`);
  return [];
}

/** The bundle's config, its rootfs, and the cgroup a container of it gets, with its limits (restore shares this). */
export function prepareBundle(ctx: OperationContext, req: { bundle?: string; cgroupVersion?: 1 | 2; noCgroup?: boolean }) {
  const bundle = resolve(req.bundle ?? process.cwd());
  if (sourceKind(bundle) !== 'dir') throw new BerthError(`bundle ${bundle}: no such directory`, 'invalid');
  const config = loadBundleConfig(bundle, ctx.log);
  const rootfs = rootfsOf(bundle, config);
  const cgroupsPath = config.linux.cgroupsPath ?? defaultCgroupsPath(ctx.id);
  const noCgroup = (why: string) => ({ bundle, config, rootfs, layout: hostLayout(req.cgroupVersion), cgroupDirs: [], cgroupWrites: noLimits(config, why) });
  if (req.noCgroup) return noCgroup('with --cgroup-manager disabled it gets none');
  if (rootless()) {
    const delegated = delegatedCgroups();
    if (!delegated) return noCgroup('a rootless berth has none of its own on this host');
    // Devices: nothing outside the user namespace's reach is there (they are bound), and a user cannot load a BPF filter.
    const cgroupWrites = resourceWrites(config.linux.resources ?? {}, 2, cgroupFacts(delegated.layout)).filter((w) => w.kind !== 'device-filter');
    return { bundle, config, rootfs, layout: delegated.layout, cgroupDirs: delegatedCgroupDirs(delegated.layout, delegated.root, cgroupsPath), cgroupWrites };
  }
  const layout = hostLayout(req.cgroupVersion);
  const cgroupDirs = containerCgroupDirs(layout, cgroupsPath);
  const cgroupWrites = resourceWrites(config.linux.resources ?? {}, layout.version, cgroupFacts(layout), berthDeviceRules(config.linux.devices));
  return { bundle, config, rootfs, layout, cgroupDirs, cgroupWrites };
}

/** Everything that needs no change on the host: a bad config fails here and leaves nothing. */
export function prepareCreate(ctx: OperationContext, req: CreateRequest) {
  const { bundle, config, rootfs, layout, cgroupDirs, cgroupWrites } = prepareBundle(ctx, req);
  const compileContext = compileContextOf({ bundle, rootfs, fifo: fifoPath(ctx.dir), preserveFds: req.preserveFds ?? 0, noPivot: req.noPivot ?? false, cgroupLayout: layout, cgroupDirs });
  const plan = compileInitPlan(config, compileContext);
  if (config.process?.capabilities) {
    const { skipped, unraisable } = capabilityMasks(config.process.capabilities, compileContext.lastCap);
    if (skipped.length) ctx.log.debug(`capabilities this kernel does not know are skipped: ${skipped.join(', ')}`);
    if (unraisable.length) ctx.log.debug(`ambient capabilities not in both permitted and inheritable are not raised: ${unraisable.join(', ')}`);
  }
  const tableless = config.linux.seccomp ? tablelessArchitecturesOf(config.linux.seccomp) : [];
  if (tableless.length) ctx.log.debug(`seccomp: no syscall table for ${tableless.join(', ')}: their syscalls get the bad-arch action`);
  const ignored = ignoredLsmFields(config, compileContext.lsm);
  if (ignored.length) ctx.log.debug(`not enabled on this host, so not applied: ${ignored.join(', ')}`);
  checkHookPaths(config);
  checkConsole(config.process?.terminal ?? false, req);
  if (req.noNewKeyring) ctx.log.debug('--no-new-keyring is accepted but not used yet');
  return { bundle, config, rootfs, layout, cgroupDirs, plan, cgroupWrites };
}

/** The state a new container is recorded with before anything is made (restore shares this). */
export function initialState(ctx: OperationContext, prepared: ReturnType<typeof prepareBundle>, noPivot = false): StateFile {
  const { bundle, config, rootfs, layout, cgroupDirs } = prepared;
  return {
    ociVersion: OCI_VERSION,
    id: ctx.id,
    status: 'creating',
    pid: 0,
    bundle,
    rootfs,
    created: new Date().toISOString(),
    owner: '',
    annotations: config.annotations,
    // The cgroup is recorded before it is made, so a berth killed midway leaves what delete -f needs.
    berth: { pidStartTime: 0, cgroup: planCgroup(layout, cgroupDirs), hostMounts: !ownMountNamespace(config), noPivot, machine: null },
  };
}

/** Record the new container: its config, and its state with the cgroup it is about to get. */
export function recordNewContainer(ctx: OperationContext, prepared: ReturnType<typeof prepareBundle>, state: StateFile): void {
  writeConfig(ctx.dir, prepared.config);
  saveState(ctx, state);
  faultPoint('create.recorded');
}

/** Make the recorded container's cgroup, with the limits in. */
export async function makeCgroup(ctx: OperationContext, prepared: ReturnType<typeof prepareBundle>, state: StateFile): Promise<void> {
  await createCgroup(state.berth.cgroup!, ctx.alone());
  applyResources(state.berth.cgroup!, prepared.cgroupWrites, prepared.layout);
  faultPoint('create.cgroup');
}

/**
 * After a failed create or restore: nothing of it stays. FAILURE is what failed; should the undo
 * fail too, FAILURE's one line says so as well (what is left is then delete --force's to remove).
 */
export async function undoNewContainer(ctx: OperationContext, state: StateFile, op: string, failure: unknown): Promise<void> {
  try {
    await teardown(ctx, state);
    if (state.pid) await ctx.parent.reap(state.pid); // killed by teardown; a child no reaper knows of
  } catch (undo) {
    if (failure instanceof Error) failure.message += `; undoing the ${op} failed too: ${(undo as Error).message}`;
  }
}

/** prestart and createRuntime in berth's namespaces, createContainer in the container's; a failure fails the create. */
async function runCreateHooks(ctx: OperationContext, state: StateFile, config: Config): Promise<void> {
  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const)
    await ctx.hooks.run({ kind, hooks: config.hooks?.[kind] ?? [], state: hookState(state, kind), inContainer: inContainerHooks.includes(kind) ? { pid: state.pid, config } : undefined });
}

/** Create the container; resolves with its terminal's master when it was asked back. */
export async function createContainer(ctx: OperationContext, req: CreateRequest, prepared: ReturnType<typeof prepareCreate>): Promise<number | undefined> {
  const { config, plan } = prepared;
  const state = initialState(ctx, prepared, req.noPivot);
  let route: ConsoleRoute | undefined;
  let cgroup: Promise<void> | undefined;
  try {
    makeStartFifo(ctx.dir);
    recordNewContainer(ctx, prepared, state);
    route = openConsole(config.process?.terminal ?? false, req);
    const pid = await runInit({
      plan,
      // Made while the caller spawns berth-init; its plan, which joins the cgroup first, waits for it.
      planAfter: () => {
        cgroup = makeCgroup(ctx, prepared, state);
        cgroup.catch(() => {}); // seen by runInit, or by the undo below
        return cgroup;
      },
      parent: ctx.parent,
      stdio: stdioFds(req.stdio, req.preserveFds),
      consoleFd: route.fd,
      syncs: {
        [SyncTag.ID_MAPS]: (stage1) => writeIdMaps(stage1, config.linux.uidMappings ?? [], config.linux.gidMappings ?? []),
        [SyncTag.CREATE_HOOKS]: () => runCreateHooks(ctx, state, config),
        [SyncTag.IDMAPPED_MOUNTS]: (stage1, sendFd) => sendIdmappedBinds(idmappedBinds(config, prepared.bundle), stage1, sendFd),
        [SyncTag.NET_DEVICES]: (stage1) => moveNetDevices(config.linux.netDevices ?? {}, stage1),
        [SyncTag.SECCOMP_LISTENER]: (_stage1, _sendFd, listener) => sendSeccompListener(config.linux.seccomp!, listener!, state.pid, specState(state, 'creating')),
      },
      onPid: (pid) => {
        state.pid = pid;
        state.berth.pidStartTime = procStat(pid)?.startTime ?? 0;
        faultPoint('create.pid');
      },
    });
    faultPoint('create.ready');
    const dead = whyDead(pid, state.berth.pidStartTime);
    if (dead) throw new BerthError(`the container process died before it was recorded: ${dead}`);
    ctx.state = state;
    return route.receive();
  } catch (e) {
    await cgroup?.catch(() => {}); // done making before it is removed
    await undoNewContainer(ctx, state, 'create', e);
    throw e;
  } finally {
    route?.close();
  }
}
