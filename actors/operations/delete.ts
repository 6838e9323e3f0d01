// delete: the machine only lets it through for a stopped container, or with --force; then every
// trace goes — processes, cgroup, state folder — and the poststop hooks run (a failing one is a
// warning: the container is gone either way).
import { readConfig } from '../stateStore.js';
import { requireState, runHooks, type OperationContext } from './context.js';
import { teardown } from './teardown.js';

export async function deleteContainer(ctx: OperationContext): Promise<void> {
  const state = requireState(ctx);
  const poststop = readConfig(ctx.dir).hooks?.poststop;
  await teardown(ctx, state);
  await runHooks(ctx, 'poststop', poststop, state);
}
