// The CLI lifecycle suite on the in-process path (`--no-server`, BERTH_NO_SERVER=1): no berth server;
// and that path with its container operations on the worker pool (`--actor-host pool`).
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { berth, isRoot, makeBundle, uniqueId, workspace } from './helpers/fixtures.js';
import { cliLifecycleSuite } from './cli-lifecycle.test.js';

const pool = suite('cli, in-process, on the worker pool');
const { dir, root, rootfs } = workspace(pool);

pool('--no-server --actor-host pool runs a container; through the server the pool is refused', () => {
  const id = uniqueId('pool');
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', 'echo pooled; exit 4']);
  const r = berth(root, ['--no-server', '--actor-host', 'pool', 'run', '--bundle', b, id]);
  assert.is(r.stdout, 'pooled\n');
  assert.is(r.status, 4, r.stderr);
  const refused = berth(root, ['--actor-host', 'pool', 'list']);
  assert.is(refused.status, 1);
  assert.is(refused.stderr, '--actor-host pool needs --no-server\n');
});

if (isRoot) {
  cliLifecycleSuite('cli lifecycle, in-process', { BERTH_NO_SERVER: '1' }).run();
  pool.run();
} else console.log('cli lifecycle, in-process: skipped (needs root)');
