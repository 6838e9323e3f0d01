// A berth killed with SIGKILL at any point of create leaves a container that delete -f removes
// completely: the in-process CLI (--no-server), and the berth server the CLI calls.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNothingLeft, berth, berthBin, isRoot, makeBundle, serverPid, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('crash');
const { dir, root, rootfs } = workspace(test);

test('SIGKILL of the in-process CLI during create, at many points: delete --force leaves nothing', async () => {
  const b = makeBundle(join(dir, 'bundle'), rootfs, ['sleep', '30']);
  // From before the state folder exists to after the container process is waiting for start.
  const ids: string[] = [];
  for (const delay of [0, 40, 60, 70, 80, 90, 100, 110, 120, 140, 170, 200, 300]) {
    const id = uniqueId(`crash${delay}`);
    ids.push(id);
    const child = spawn(berthBin, ['--root', root, '--no-server', 'create', '--bundle', b, id], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    await exited;
    const r = berth(root, ['delete', '--force', id]);
    assert.ok(r.status === 0 || r.stderr === 'container does not exist\n', `delay ${delay}: ${r.stderr}`);
    assertNothingLeft(root, id, dir);
  }
  // Nothing the killed berths started may come back later either.
  await new Promise((r) => setTimeout(r, 500));
  for (const id of ids) assertNothingLeft(root, id, dir);
});

test('SIGKILL of the server during create, at many points: the next calls work, delete --force leaves nothing', async () => {
  const b = makeBundle(join(dir, 'bundle-server'), rootfs, ['sleep', '30']);
  const ids: string[] = [];
  for (const delay of [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30]) {
    berth(root, ['list']); // a server runs
    const pid = serverPid(root)!;
    const id = uniqueId(`srvcrash${delay}`);
    ids.push(id);
    const child = spawn(berthBin, ['--root', root, 'create', '--bundle', b, id], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    await new Promise((r) => setTimeout(r, delay));
    process.kill(pid, 'SIGKILL');
    await exited;
    const r = berth(root, ['delete', '--force', id]);
    assert.ok(r.status === 0 || r.stderr === 'container does not exist\n', `delay ${delay}: ${r.stderr}`);
    assertNothingLeft(root, id, dir);
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const id of ids) assertNothingLeft(root, id, dir);
});

test('a state.json a machine crash left empty (written without fsync): no container, and delete --force removes its folder', () => {
  for (const [name, content] of [['empty', ''], ['zeroes', '\0'.repeat(900)]] as const) {
    const id = uniqueId(`lost-${name}`);
    mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, id, 'state.json'), content);
    writeFileSync(join(root, id, 'config.json'), '{}');
    const state = berth(root, ['state', id]);
    assert.is(state.stderr, 'container does not exist\n');
    assert.not.match(berth(root, ['list', '-q']).stdout, id);
    assert.is(berth(root, ['delete', '--force', id]).status, 0);
    assertNothingLeft(root, id, dir);
  }
});

if (isRoot) test.run();
else console.log('crash: skipped (needs root)');
