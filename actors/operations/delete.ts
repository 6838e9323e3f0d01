// delete: the machine only lets it through for a stopped container, or with --force; then every
// trace goes — processes, cgroup, state folder.
import { requireState, type OperationContext } from './context.js';
import { teardown } from './teardown.js';

export async function deleteContainer(ctx: OperationContext): Promise<void> {
  await teardown(ctx.dir, requireState(ctx));
}
