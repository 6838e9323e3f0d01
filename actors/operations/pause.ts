// pause: freeze every process of the container through its cgroup. The machine lets it through
// only for a running container, and records `paused` once the freeze is complete.
import { freeze } from '../../native/cgroups/freezer.js';
import { BerthError } from '../../native/errors.js';
import { requireState, type OperationContext } from './context.js';
import { faultPoint } from '../faultPoint.js';

export async function pauseContainer(ctx: OperationContext): Promise<void> {
  const { cgroup } = requireState(ctx).berth;
  if (!cgroup) throw new BerthError('the container has no cgroup: it cannot be paused');
  await freeze(cgroup);
  faultPoint('pause.frozen');
}
