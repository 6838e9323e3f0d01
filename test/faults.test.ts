// berth killed (SIGKILL, by BERTH_DIE_AT) at every addressable point of create, start, exec, pause,
// resume and delete — the in-process CLI, and the berth server mid-call: afterwards `state` tells
// the truth, the next calls work, and delete -f leaves no state folder, cgroup, mount or process.
// And the container's own process (berth-init) killed before each step of its plan.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { faultPoints, type FaultPoint } from '../actors/faultPoint.js';
import { assertNothingLeft, berth, berthBin, isRoot, makeBundle, ok, serverPid, stopServer, uniqueId, workspace } from './helpers/fixtures.js';
import { sleepSync, waitUntil } from './helpers/wait.js';

const test = suite('faults');
const { dir, root, rootfs } = workspace(test);
const sleeper = () => makeBundle(join(dir, 'bundle'), rootfs, ['sleep', '60']);

const status = (id: string) => JSON.parse(ok(berth(root, ['state', id]), 'state')).status as string;
const runDetached = (id: string) => ok(berth(root, ['run', '-d', '--bundle', join(dir, 'bundle'), id]), 'run -d');

/** For each point: what brings the container there, the call killed at the point, and the status after. */
const scenarios: Record<Exclude<FaultPoint, `checkpoint.${string}` | `restore.${string}`>, { before?: (id: string) => void; call: (id: string) => string[]; truth: string }> = {
  'create.recorded': { call: (id) => ['create', '--bundle', join(dir, 'bundle'), id], truth: 'creating' },
  'create.cgroup': { call: (id) => ['create', '--bundle', join(dir, 'bundle'), id], truth: 'creating' },
  'create.pid': { call: (id) => ['create', '--bundle', join(dir, 'bundle'), id], truth: 'creating' },
  'create.ready': { call: (id) => ['create', '--bundle', join(dir, 'bundle'), id], truth: 'creating' },
  'create.recorded-created': { call: (id) => ['create', '--bundle', join(dir, 'bundle'), '--pid-file', join(dir, `${id}.pid`), id], truth: 'created' },
  'start.hooks': { before: (id) => ok(berth(root, ['create', '--bundle', join(dir, 'bundle'), id]), 'create'), call: (id) => ['start', id], truth: 'created' },
  'start.released': { before: (id) => ok(berth(root, ['create', '--bundle', join(dir, 'bundle'), id]), 'create'), call: (id) => ['start', id], truth: 'running' },
  'exec.started': { before: runDetached, call: (id) => ['exec', '-d', id, 'sleep', '60'], truth: 'running' },
  'pause.frozen': { before: runDetached, call: (id) => ['pause', id], truth: 'paused' },
  'resume.thawed': { before: (id) => (runDetached(id), ok(berth(root, ['pause', id]), 'pause')), call: (id) => ['resume', id], truth: 'running' },
  'teardown.ended': { before: runDetached, call: (id) => ['delete', '--force', id], truth: 'stopped' },
  'teardown.cgroup': { before: runDetached, call: (id) => ['delete', '--force', id], truth: 'stopped' },
};

/** After the kill at POINT: state, a call the machine allows there, then delete -f, and nothing left. */
function afterKill(point: keyof typeof scenarios, id: string) {
  assert.is(status(id), scenarios[point].truth, `${point}: state tells the truth`);
  if (scenarios[point].truth === 'paused') ok(berth(root, ['resume', id]), 'the machine takes it as paused');
  if (scenarios[point].truth === 'running') ok(berth(root, ['pause', id]), 'the machine takes it as running');
  let r = berth(root, ['delete', '--force', id]);
  if (/did not die after SIGKILL/.test(r.stderr)) r = berth(root, ['delete', '--force', id]);
  assert.is(r.status, 0, `${point}: delete -f: ${r.stderr}`);
  assertNothingLeft(root, id, dir);
}

test.before(() => void sleeper());

test('every point is named by a scenario (checkpoint\'s and restore\'s: in checkpoint.test.ts, which has a CRIU)', () => {
  assert.equal(Object.keys(scenarios), faultPoints.filter((p) => !/^(checkpoint|restore)\./.test(p)));
});

test('the in-process CLI killed at each point', () => {
  for (const point of Object.keys(scenarios) as (keyof typeof scenarios)[]) {
    const id = uniqueId('fault');
    scenarios[point].before?.(id);
    const r = spawnSync(berthBin, ['--root', root, '--no-server', ...scenarios[point].call(id)], { stdio: 'ignore', env: { ...process.env, BERTH_DIE_AT: point }, timeout: 30_000 });
    assert.is(r.signal, 'SIGKILL', `${point}: berth died there (status ${r.status})`);
    afterKill(point, id);
  }
});

test('the berth server killed mid-call at each point: the call fails, the next server carries on', async () => {
  for (const point of Object.keys(scenarios) as (keyof typeof scenarios)[]) {
    const id = uniqueId('srvfault');
    scenarios[point].before?.(id);
    stopServer(root);
    // A server of this root in the foreground, dying at POINT (a server started by a call gets no env of it).
    const server = spawn(berthBin, ['--root', root, 'server'], { stdio: 'ignore', env: { ...process.env, BERTH_DIE_AT: point } });
    const died = new Promise<NodeJS.Signals | null>((r) => server.on('exit', (_, signal) => r(signal)));
    assert.ok(waitUntil(() => serverPid(root) === server.pid), 'the server serves');
    const r = berth(root, scenarios[point].call(id));
    assert.is.not(r.status, 0, `${point}: the call fails with its server`);
    assert.is(await died, 'SIGKILL', `${point}: the server died there`);
    sleepSync(50); // a container process the call's client spawned settles as the kernel leaves it
    afterKill(point, id);
  }
});

test('the container process killed before each step of its plan (BERTH_INIT_DIE_AT): create fails in one line and leaves nothing; after READY, start finds it gone', () => {
  const bundle = join(dir, 'bundle');
  const plan = ok(berth(root, ['create', '--dry-run', '--bundle', bundle, uniqueId('plan')]), 'dry-run');
  const ops = plan.split('\n').filter((l) => /^\s*\d+\s+[A-Z_]+\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]!);
  const ready = ops.indexOf('READY');
  assert.ok(ready > 10, `the plan has its steps: ${ops.join(' ')}`);
  for (let i = 0; i < ops.length; i++) {
    const id = uniqueId('plan');
    const r = spawnSync(berthBin, ['--root', root, '--no-server', 'create', '--bundle', bundle, id], { encoding: 'utf8', env: { ...process.env, BERTH_INIT_DIE_AT: String(i) }, timeout: 30_000 });
    const what = `killed before step ${i} (${ops[i]}): status ${r.status}, ${JSON.stringify(r.stderr)}`;
    // Right after READY the death may still be seen by the create itself: then it fails as before.
    if (i <= ready || (r.status === 1 && /^the container process died before it was recorded/.test(r.stderr))) {
      assert.is(r.status, 1, what);
      assert.is(r.stderr.trimEnd().split('\n').length, 1, `one line: ${what}`);
    } else {
      // Created: the process dies on its way from the barrier to the program.
      assert.is(r.status, 0, what);
      berth(root, ['start', id]);
      assert.ok(waitUntil(() => status(id) === 'stopped'), `stopped: ${what}`);
      ok(berth(root, ['delete', id]), 'delete');
    }
    assertNothingLeft(root, id, dir);
  }
});

if (isRoot) test.run();
else console.log('faults: skipped (needs root)');
