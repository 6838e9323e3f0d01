// resume: let a paused container's processes run again. The machine lets it through only for a
// paused container, and records `running` after.
import { thaw } from '../../native/cgroups/freezer.js';
import { requireState, type OperationContext } from './context.js';
import { faultPoint } from '../faultPoint.js';

export function resumeContainer(ctx: OperationContext): void {
  const { cgroup } = requireState(ctx).berth;
  if (cgroup) thaw(cgroup);
  faultPoint('resume.thawed');
}
