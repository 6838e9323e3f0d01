// stop (the seed's): every process of the container ends — SIGTERM, and SIGKILL to what remains
// after the timeout — while its cgroup and the namespaces that can outlive them are kept, for a
// restart. The container is then stopped.
import { keepNamespaces } from '../../native/keptNamespaces.js';
import { readConfig } from '../stateStore.js';
import { requireState, saveState, type OperationContext } from './context.js';
import { endProcesses } from './teardown.js';

export interface StopRequest {
  /** How long after SIGTERM the processes that remain get SIGKILL. */
  timeoutSeconds: number;
}

export async function stopContainer(ctx: OperationContext, { timeoutSeconds }: StopRequest): Promise<void> {
  const state = requireState(ctx);
  // A restarted container runs in what its first stop kept. Recorded before the processes go, so
  // a delete releases them even if the rest fails.
  if (!state.berth.keptNamespaces) saveState(ctx, { ...state, berth: { ...state.berth, keptNamespaces: keepNamespaces(state.pid, ctx.dir, readConfig(ctx.dir)) } });
  await endProcesses(requireState(ctx), timeoutSeconds * 1000);
}
