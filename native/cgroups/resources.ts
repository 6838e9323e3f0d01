// linux.resources → the writes that put it into a container's cgroup. Pure: what the host has comes
// in as data (cgroupFacts in apply.ts gathers it), so every field is testable without root, and a
// config the host cannot honour fails before anything is created.
import type { Resources } from '../spec/config.js';
import { configDeviceRules, type DeviceRule } from './devices.js';
import { v1Writes } from './resources-v1.js';
import { v2Writes } from './resources-v2.js';
import type { CgroupWrite, HostFacts } from './writes.js';

/** BERTH_DEVICE_RULES (berthDeviceRules) come after the config's device rules. */
export function resourceWrites(resources: Resources, version: 1 | 2, facts: HostFacts, berthDeviceRules: DeviceRule[] = []): CgroupWrite[] {
  const devices = [...configDeviceRules(resources.devices), ...berthDeviceRules];
  return version === 1 ? v1Writes(resources, facts, devices) : v2Writes(resources, facts, devices);
}
