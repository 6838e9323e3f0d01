// The entry of a pooled worker thread: one container operation per task. Hooks run in the
// coordinator's thread (they are serialized there): the task brings a port to reach its runner.
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';
import { performOperation, type OperationRequest } from './containerActor.js';
import type { HookClient } from './hookRunner.js';

export default async function task({ req, hooks }: { req: OperationRequest; hooks: MessagePort }) {
  const runner = Comlink.wrap<HookClient>(nodeEndpoint(hooks));
  try {
    return await performOperation(req, { hooks: runner });
  } finally {
    runner[Comlink.releaseProxy]();
    hooks.close();
  }
}
