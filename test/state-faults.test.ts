// A state root that cannot be written: a full disk (a small tmpfs in the test's folder, filled), or
// one remounted read-only.
// A state write is whole or not at all, the error names the file, no temp file is left, and state
// tells the truth afterwards: a start whose record could not be written reads as running. A record
// written over its twin, in a folder claimed from the root's spares, needs no room.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNothingLeft, berth, cleanupRoot, isRoot, makeBundle, mountsUnder, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('state faults');
const { dir, rootfs } = workspace(test, () => {
  freeDisk();
  cleanupRoot(root); // its containers by delete -f, then its server
  for (const m of mountsUnder(disk).reverse()) spawnSync('umount', ['-l', m]);
});
const disk = join(dir, 'disk');
const root = join(disk, 'root');
const fill = join(disk, 'fill');

test.before(() => {
  mkdirSync(disk);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
  assert.is(mounted.status, 0, String(mounted.stderr));
});

const fillDisk = () => spawnSync('sh', ['-c', `dd if=/dev/zero of=${fill} bs=4k 2>/dev/null; true`]);
/** Files a record can be written over without room: a folder's twins of state.json, the root's spare folders. */
const dropSpareFiles = (id?: string) => {
  rmSync(join(root, '@spare'), { recursive: true, force: true });
  if (id) for (const twin of ['.state.0', '.state.1']) rmSync(join(root, id, twin), { force: true });
};
const freeDisk = () => rmSync(fill, { force: true });
const state = (id: string) => JSON.parse(berth(root, ['state', id]).stdout) as { status: string; pid: number };

test('a full disk: create fails in one line and leaves nothing; a start that cannot be recorded reads as running', () => {
  const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['sleep', '100']);
  assert.is(berth(root, ['list']).status, 0); // the server and the root are made while there is room

  fillDisk();
  const refused = uniqueId('full');
  const r = berth(root, ['create', '--bundle', bundle, refused]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^cannot write ${root}/${refused}/.*: ENOSPC \\(no space left on device\\)\\n$`), r.stderr);
  assertNothingLeft(root, refused, rootfs);
  freeDisk();

  const id = uniqueId('full');
  assert.is(berth(root, ['create', '--bundle', bundle, id]).status, 0);
  dropSpareFiles(id); // the start's record needs room
  fillDisk();
  const start = berth(root, ['start', id]);
  assert.is(start.status, 1, start.stderr);
  assert.is(start.stderr, `cannot write ${root}/${id}/state.json: ENOSPC (no space left on device)\n`);
  assert.equal(readdirSync(join(root, id)).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
  const s = state(id);
  assert.is(s.status, 'running', 'the program was released: it runs, whatever the record says');
  assert.ok(s.pid > 0);
  freeDisk();
  assert.is(berth(root, ['pause', id]).status, 0, 'the machine takes it as running too');
  assert.is(state(id).status, 'paused');
  assert.is(berth(root, ['delete', '--force', id]).status, 0);
  assertNothingLeft(root, id, rootfs);
});

test('a state folder made read-only: a start that cannot be recorded fails in one line and reads as running; the old state survives whole', () => {
  const bundle = makeBundle(join(dir, 'bundle-ro'), rootfs, ['sleep', '100']);
  const id = uniqueId('ro');
  assert.is(berth(root, ['create', '--bundle', bundle, id]).status, 0);
  const before = readFileSync(join(root, id, 'state.json'), 'utf8');
  // The container's folder alone, bound read-only onto itself (the root's own tmpfs has the server's log open).
  const folder = join(root, id);
  assert.is(spawnSync('mount', ['--bind', folder, folder]).status, 0);
  assert.is(spawnSync('mount', ['-o', 'remount,bind,ro', folder]).status, 0);
  try {
    const start = berth(root, ['start', id]);
    assert.is(start.status, 1, start.stderr);
    assert.is(start.stderr, `the container was started, but its fifo ${folder}/exec.fifo could not be removed: EROFS; and its state could not be recorded: cannot write ${folder}/state.json: EROFS (read-only file system)\n`);
    assert.is(readFileSync(join(root, id, 'state.json'), 'utf8'), before, 'the old record, whole');
    assert.is(state(id).status, 'running', 'the program was released: it runs, whatever the record says');
  } finally {
    spawnSync('umount', [folder]);
  }
  assert.is(berth(root, ['delete', '--force', id]).status, 0);
  assertNothingLeft(root, id, rootfs);
});

test('a full disk: a container whose records have a twin to be written over is created, started and deleted all the same', () => {
  const bundle = makeBundle(join(dir, 'bundle-twins'), rootfs, ['sleep', '100']);
  const first = uniqueId('twins');
  assert.is(berth(root, ['run', '--detach', '--bundle', bundle, first]).status, 0);
  assert.is(berth(root, ['delete', '--force', first]).status, 0); // its folder kept as a spare, twins and all
  const id = uniqueId('twins');
  fillDisk();
  try {
    const run = berth(root, ['run', '--detach', '--bundle', bundle, id]);
    assert.is(run.status, 0, run.stderr);
    assert.is(state(id).status, 'running');
    assert.is(berth(root, ['delete', '--force', id]).status, 0);
    assertNothingLeft(root, id, rootfs);
  } finally {
    freeDisk();
  }
});

test('the disk fills during create, after the container process is made: create fails, nothing is left, no pid file', () => {
  dropSpareFiles(); // its second record needs room
  // The createRuntime hook runs after the first record and before the last: it fills the disk.
  const bundle = makeBundle(join(dir, 'bundle-fills'), rootfs, ['sleep', '100'], (c) => {
    c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `dd if=/dev/zero of=${fill} bs=4k 2>/dev/null; true`] }] };
  });
  const id = uniqueId('fills');
  const pidFile = join(dir, `${id}.pid`);
  try {
    const r = berth(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id]);
    assert.is(r.status, 1, r.stderr);
    assert.is(r.stderr, `cannot write ${root}/${id}/state.json: ENOSPC (no space left on device)\n`);
    assert.not.ok(existsSync(pidFile), 'no pid file');
    assertNothingLeft(root, id, rootfs);
  } finally {
    freeDisk();
  }
});

test('a state.json that is not JSON: list names it and goes on, state says which file, the others are listed', () => {
  const bundle = makeBundle(join(dir, 'bundle-corrupt'), rootfs, ['sleep', '100']);
  const good = uniqueId('good');
  const bad = uniqueId('corrupt');
  for (const id of [good, bad]) assert.is(berth(root, ['create', '--bundle', bundle, id]).status, 0);
  const badState = join(root, bad, 'state.json');
  const saved = readFileSync(badState, 'utf8');
  writeFileSync(badState, '{"id": "half a write');
  try {
    const list = berth(root, ['list', '--format', 'json']);
    assert.is(list.status, 0, list.stderr);
    assert.equal((JSON.parse(list.stdout) as { id: string }[]).map((c) => c.id).sort(), [good]);
    assert.match(list.stderr, new RegExp(`^.*container ${bad} is left out of the list: ${badState} is not a state file: .+\\n$`));
    const st = berth(root, ['state', bad]);
    assert.is(st.status, 1);
    assert.match(st.stderr, new RegExp(`^${badState} is not a state file: [^\\n]+\\n$`));
  } finally {
    writeFileSync(badState, saved);
  }
  for (const id of [good, bad]) assert.is(berth(root, ['delete', '--force', id]).status, 0);
  assertNothingLeft(root, bad, rootfs);
});

if (isRoot) test.run();
else console.log('state faults: skipped (needs root)');
