// What every operation works with: the container's folder, its recorded state, and a way to save it.
import type { Logger } from '../log.js';
import { writeState, type StateFile } from '../stateStore.js';

export interface OperationContext {
  root: string;
  id: string;
  dir: string;
  log: Logger;
  /** The state being worked on; null until create has recorded it. */
  state: StateFile | null;
}

/** Record the state on disk (atomically) and in the context. */
export function saveState(ctx: OperationContext, state: StateFile): void {
  writeState(ctx.dir, state);
  ctx.state = state;
}

export function requireState(ctx: OperationContext): StateFile {
  if (!ctx.state) throw new Error(`container ${ctx.id} has no recorded state`);
  return ctx.state;
}
