// Which host an operation runs on (no root needed): SpillingHost's routing, with hosts that record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { OperationRequest, OperationResult, OperationServices } from '../actors/containerActor.js';
import { SpillingHost, type ActorHost } from '../actors/hosts.js';

/** A host that records the ids it was given and finishes each when told. */
function recorder() {
  const ids: string[] = [];
  const finish = new Map<string, () => void>();
  const host: ActorHost = {
    perform: (req) => {
      ids.push(req.id);
      return new Promise<OperationResult>((resolve) => finish.set(req.id, () => resolve({ id: req.id, status: 'running', pid: 1 })));
    },
    close: async () => {},
  };
  return { host, ids, finish: (id: string) => finish.get(id)!() };
}

const req = (id: string) => ({ op: 'pause', id, root: '/nowhere', log: {} }) as OperationRequest;
const services = (remote = false) => ({ hooks: {}, parent: remote ? { remote: true } : undefined }) as unknown as OperationServices;

test('an operation alone runs inline; the ones that come while it is under way go to the pool; alone again, inline', async () => {
  const inline = recorder();
  const pool = recorder();
  const host = new SpillingHost(1, inline.host, pool.host);
  const a = host.perform(req('a'), services());
  const b = host.perform(req('b'), services());
  const c = host.perform(req('c'), services());
  assert.equal(inline.ids, ['a']);
  assert.equal(pool.ids, ['b', 'c']);
  inline.finish('a');
  await a;
  pool.finish('b');
  pool.finish('c');
  await Promise.all([b, c]);
  const d = host.perform(req('d'), services());
  assert.equal(inline.ids, ['a', 'd']);
  inline.finish('d');
  await d;
});

test("an operation whose processes spawn through a caller's connection runs inline, whatever else is under way", async () => {
  const inline = recorder();
  const pool = recorder();
  const host = new SpillingHost(1, inline.host, pool.host);
  const a = host.perform(req('a'), services());
  const b = host.perform(req('b'), services(true));
  assert.equal(inline.ids, ['a', 'b']);
  assert.equal(pool.ids, []);
  inline.finish('a');
  inline.finish('b');
  await Promise.all([a, b]);
});

test.run();
