// update: new resource limits for a live container (created, running or paused). The changes are
// merged into the recorded linux.resources as runc merges them (a field given replaces, one left out
// stays; device entries are matched by major:minor, huge pages by size), compiled by create's
// compiler, written into the cgroup, and recorded in the container's config.json for later
// operations. Device rules stay as created, as in runc.
import { applyResources, cgroupFacts, controllerDir } from '../../native/cgroups/apply.js';
import { hostLayout, type CgroupLayout } from '../../native/cgroups/layout.js';
import type { CgroupRecord } from '../../native/cgroups/manager.js';
import { resourceWrites } from '../../native/cgroups/resources.js';
import { readIn } from '../../native/cgroups/stats.js';
import { isSet, majorMinor, pageCounterValue } from '../../native/cgroups/writes.js';
import { BerthError } from '../../native/errors.js';
import type { BlockIOResources, Resources } from '../../native/spec/config.js';
import { ConfigError, parseResources } from '../../native/spec/validate.js';
import { pageSize } from '../../native/syscalls.js';
import { readConfig, replaceConfig } from '../stateStore.js';
import { requireState, type OperationContext } from './context.js';

const R = 'linux.resources';

const defined = <T extends object>(o: T | undefined): Partial<T> => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;

/** The fields of B over those of A; undefined when neither has any. */
function merge<T extends object>(a: T | undefined, b: T | undefined): T | undefined {
  return a || b ? ({ ...defined(a), ...defined(b) } as T) : undefined;
}

/** A's entries with B's put in: one with the same key is replaced (COMBINE decides how), a new one appended. */
function upsert<T>(a: T[] | undefined, b: T[] | undefined, key: (x: T) => string, combine: (old: T, x: T) => T = (_, x) => x): T[] | undefined {
  if (!b) return a;
  const out = [...(a ?? [])];
  for (const x of b) {
    const i = out.findLastIndex((o) => key(o) === key(x));
    if (i < 0) out.push(x);
    else out[i] = combine(out[i]!, x);
  }
  return out;
}

const throttles = ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const;

function mergeBlockIO(a: BlockIOResources | undefined, b: BlockIOResources | undefined): BlockIOResources | undefined {
  const out = merge(a, b);
  if (!out) return undefined;
  const weightDevice = upsert(a?.weightDevice, b?.weightDevice, majorMinor, (old, x) => merge(old, x)!);
  if (weightDevice) out.weightDevice = weightDevice;
  for (const k of throttles) {
    const devices = upsert(a?.[k], b?.[k], majorMinor);
    if (devices) out[k] = devices;
  }
  return out;
}

/** How each linux.resources field takes an update. */
const mergeRules: { [K in keyof Resources]-?: (a: Resources[K], b: Resources[K]) => Resources[K] } = {
  devices: (a, b) => {
    if (b !== undefined && JSON.stringify(b) !== JSON.stringify(a ?? [])) throw new ConfigError(`${R}.devices`, 'update cannot change device rules: they stay as the container was created with');
    return a;
  },
  memory: merge,
  cpu: merge,
  pids: merge,
  blockIO: mergeBlockIO,
  hugepageLimits: (a, b) => upsert(a, b, (h) => h.pageSize),
  network: (a, b) => {
    const out = merge(a, b);
    if (out) out.priorities = upsert(a?.priorities, b?.priorities, (p) => p.name);
    return out;
  },
  rdma: merge,
  unified: merge,
};

/** The recorded resources with CHANGES merged in. Pure. */
export function mergeResources(recorded: Resources, changes: Resources): Resources {
  const out: Record<string, unknown> = {};
  for (const [key, rule] of Object.entries(mergeRules) as [keyof Resources, (a: unknown, b: unknown) => unknown][]) {
    const value = rule(recorded[key], changes[key]);
    if (value !== undefined) out[key] = value;
  }
  return out as Resources;
}

/** A memory controller file of the container, or null where it has none. */
const readMemoryFile = (record: CgroupRecord, layout: CgroupLayout, v1: string, v2: string) => readIn(controllerDir(layout, record.paths, 'memory'), record.version === 1 ? v1 : v2);

/**
 * The memory limit in force in the cgroup (-1 for none), which a swap limit needs beside it when the
 * update gives none (swap limits memory+swap). Undefined where the cgroup has no memory files: the
 * compiler then names what is missing.
 */
function limitInForce(record: CgroupRecord, layout: CgroupLayout): number | undefined {
  const text = readMemoryFile(record, layout, 'memory.limit_in_bytes', 'memory.max');
  if (text === null) return undefined;
  return text === 'max' || text === pageCounterValue(-1, pageSize()) ? -1 : Number(text);
}

/** memory.checkBeforeUpdate: a new limit below what the container uses now is refused, not applied. */
function checkUsage(resources: Resources, changes: Resources, record: CgroupRecord, layout: CgroupLayout): void {
  const limit = changes.memory?.limit;
  if (!resources.memory?.checkBeforeUpdate || !isSet(limit) || limit === -1) return;
  const usage = Number(readMemoryFile(record, layout, 'memory.usage_in_bytes', 'memory.current') ?? 0);
  if (limit < usage) throw new ConfigError(`${R}.memory.limit`, `${limit} is below the container's current memory usage ${usage} (memory.checkBeforeUpdate)`);
}

/** Apply RESOURCES (device rules aside) in the container's cgroup. */
function apply(record: CgroupRecord, layout: CgroupLayout, resources: Resources): void {
  const writes = resourceWrites(resources, record.version, cgroupFacts(layout)).filter((w) => w.kind === 'file' && w.controller !== 'devices');
  applyResources(record, writes, layout);
}

export interface UpdateRequest {
  /** The changes: a linux.resources object, not validated yet. */
  resources: unknown;
}

/** Update the container's limits; returns its resources as now recorded. */
export function updateContainer(ctx: OperationContext, { resources: update }: UpdateRequest): Resources {
  const { cgroup } = requireState(ctx).berth;
  if (!cgroup) throw new BerthError('the container has no cgroup: its limits cannot be changed');
  const layout = hostLayout(cgroup.version);
  const config = readConfig(ctx.dir);
  const recorded = config.linux.resources ?? {};
  const changes = parseResources(update, R);
  const resources = parseResources(mergeResources(recorded, changes), R);
  const memory = resources.memory;
  if (memory && isSet(memory.swap) && !isSet(memory.limit)) memory.limit = limitInForce(cgroup, layout);
  checkUsage(resources, changes, cgroup, layout);
  try {
    apply(cgroup, layout, resources);
  } catch (e) {
    // What was written before the failure is put back, as runc does: the cgroup keeps matching config.json.
    try {
      apply(cgroup, layout, recorded);
    } catch (undo) {
      ctx.log.warn(`update ${ctx.id} failed and the earlier limits could not all be restored: ${(undo as Error).message}`);
    }
    throw e;
  }
  replaceConfig(ctx.dir, { ...config, linux: { ...config.linux, resources } });
  return resources;
}
