// AppArmor and SELinux: the process's profile or label is applied by writing it to
// /proc/self/attr just before exec (the kernel switches at execve), and the mount label is a
// context= option of the file systems berth mounts. Only where the LSM is enabled on the host:
// elsewhere the fields are accepted and left alone, as runc does (the caller logs that).
import { step, type PlanStep } from '../plan.js';
import type { Config, Mount, Process } from '../spec/config.js';

export interface LsmHost {
  apparmor: boolean;
  selinux: boolean;
}

/** The steps that label the process's exec, right before it. */
export function lsmExecPlan(p: Process, host: LsmHost): PlanStep[] {
  const steps: PlanStep[] = [];
  if (host.apparmor && p.apparmorProfile) steps.push(step('WRITE_FILE', `change to AppArmor profile ${p.apparmorProfile} at exec`, '/proc/self/attr/apparmor/exec', `exec ${p.apparmorProfile}`));
  if (host.selinux && p.selinuxLabel) steps.push(step('WRITE_FILE', `label the exec ${p.selinuxLabel}`, '/proc/self/attr/exec', p.selinuxLabel));
  return steps;
}

/** File systems that take a context= option when SELinux labels the container's mounts. */
const labelled = new Set(['tmpfs', 'devpts', 'mqueue', 'shm']);

/** MOUNT's data with the mount label added, for the file systems that take one. */
export function mountData(m: Mount, data: string[], config: Config, host: LsmHost): string {
  const label = config.linux.mountLabel;
  const withLabel = host.selinux && label && m.type && labelled.has(m.type) && !data.some((d) => d.startsWith('context=')) ? [...data, `context="${label}"`] : data;
  return withLabel.join(',');
}

/** What config.json asks of an LSM this host does not have (for a debug line). */
export function ignoredLsmFields(config: Config, host: LsmHost): string[] {
  const p = config.process;
  return [
    ...(!host.apparmor && p?.apparmorProfile ? [`process.apparmorProfile (${p.apparmorProfile})`] : []),
    ...(!host.selinux && p?.selinuxLabel ? [`process.selinuxLabel (${p.selinuxLabel})`] : []),
    ...(!host.selinux && config.linux.mountLabel ? [`linux.mountLabel (${config.linux.mountLabel})`] : []),
  ];
}
