// The state store without root: atomic writes (a file swapped in; a record written into its twin),
// readers that never see a record written over, and spare folders claimed by the next create.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeContainerDir, makeStartFifo, readState, removeContainerDir, retireStartFifo, writeAtomic, writeConfig, writeState, type StateFile } from '../actors/stateStore.js';
import { flock, LOCK_SH } from '../native/syscalls.js';

const root = mkdtempSync(join(tmpdir(), 'berth-store-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const record = (id: string, status: string, pad = 0) => ({ id, status, pid: 1, note: 'x'.repeat(pad) }) as unknown as StateFile;
const spares = (r: string) => (existsSync(join(r, '@spare')) ? readdirSync(join(r, '@spare')) : []);

test('writeAtomic: made, then replaced whole, mode 0600, nothing else left in the folder', () => {
  const dir = join(root, 'atomic');
  mkdirSync(dir);
  const file = join(dir, 'state.json');
  writeAtomic(file, '{"status":"created"}');
  assert.is(readFileSync(file, 'utf8'), '{"status":"created"}');
  writeAtomic(file, '{"status":"running","pid":1}');
  writeAtomic(file, '{}');
  assert.is(readFileSync(file, 'utf8'), '{}');
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(readdirSync(dir), ['state.json']);
});

test('writeAtomic into a folder that does not exist: names the file, leaves nothing', () => {
  const file = join(root, 'gone', 'state.json');
  assert.throws(() => writeAtomic(file, '{}'), (e: Error) => e.message.includes(file) && !e.message.includes('\n'));
  assert.not.ok(existsSync(join(root, 'gone')));
});

test('writeState: the first record renamed in, later ones written into a twin and swapped; a shorter one is not followed by the old tail', () => {
  const r = join(root, 'twins');
  makeContainerDir(r, 'c')!();
  const dir = join(r, 'c');
  writeState(dir, record('c', 'creating'));
  assert.equal(readdirSync(dir), ['state.json']);
  writeState(dir, record('c', 'created', 500));
  const twin = join(dir, '.state.0');
  const twinInode = statSync(twin).ino;
  writeState(dir, record('c', 'running'));
  assert.is(readState(r, 'c').status, 'running');
  assert.equal(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')), record('c', 'running'), 'whole, nothing of the longer record before it');
  assert.is(statSync(join(dir, 'state.json')).ino, twinInode, 'the twin was written over and swapped in');
  assert.equal(readdirSync(dir).sort(), ['.state.0', 'state.json']);
  assert.is(statSync(join(dir, 'state.json')).mode & 0o777, 0o600);
});

test('a reader holding state.json keeps its record whole: the next writes leave that file alone', () => {
  const r = join(root, 'reader');
  makeContainerDir(r, 'c')!();
  const dir = join(r, 'c');
  writeState(dir, record('c', 'creating'));
  writeState(dir, record('c', 'created'));
  const fd = openSync(join(dir, 'state.json'), 'r');
  try {
    flock(fd, LOCK_SH); // as readState holds it while it reads
    writeState(dir, record('c', 'running')); // swaps the held file out, to the twin's name
    writeState(dir, record('c', 'paused')); // would write over it: takes a new file instead
    assert.is(JSON.parse(readFileSync(fd, 'utf8')).status, 'created');
  } finally {
    closeSync(fd);
  }
  assert.is(readState(r, 'c').status, 'paused');
});

test('readState: a record of another id (a folder that became another container\'s) is no container', () => {
  const r = join(root, 'other');
  makeContainerDir(r, 'a')!();
  writeState(join(r, 'a'), record('b', 'running'));
  assert.throws(() => readState(r, 'a'), /container does not exist/);
});

test('a deleted container\'s folder is kept as a spare and claimed by the next create: no record, no fifo, its lock held', () => {
  const r = join(root, 'spare');
  makeContainerDir(r, 'first')!();
  const dir = join(r, 'first');
  makeStartFifo(dir);
  writeConfig(dir, { ociVersion: '1.0.2', note: 'x'.repeat(300) } as never);
  writeState(dir, record('first', 'creating'));
  writeState(dir, record('first', 'created'));
  const folder = statSync(dir).ino;
  removeContainerDir(dir);
  assert.not.ok(existsSync(dir), 'the id is gone');
  assert.is(spares(r).length, 1);

  const unlock = makeContainerDir(r, 'second');
  assert.ok(unlock, 'claimed locked');
  const claimed = join(r, 'second');
  assert.is(statSync(claimed).ino, folder, 'the same folder');
  assert.equal(spares(r), []);
  assert.not.ok(existsSync(join(claimed, 'state.json')), 'no record until the new container writes one');
  assert.not.ok(existsSync(join(claimed, 'exec.fifo')), 'no start fifo until create makes one');
  assert.throws(() => readState(r, 'second'), /container does not exist/);
  makeStartFifo(claimed);
  assert.ok(statSync(join(claimed, 'exec.fifo')).isFIFO());
  writeConfig(claimed, { ociVersion: '1.0.2' } as never);
  assert.equal(JSON.parse(readFileSync(join(claimed, 'config.json'), 'utf8')), { ociVersion: '1.0.2' }, 'written over whole');
  writeState(claimed, record('second', 'creating'));
  assert.is(readState(r, 'second').status, 'creating');
  retireStartFifo(claimed);
  assert.not.ok(existsSync(join(claimed, 'exec.fifo')), 'a start takes it away');
  unlock!();
});

test('a spare is not claimed as an id that exists; a folder holding anything else is removed, not kept', () => {
  const r = join(root, 'refused');
  makeContainerDir(r, 'taken')!();
  makeContainerDir(r, 'a')!();
  removeContainerDir(join(r, 'a'));
  assert.throws(() => makeContainerDir(r, 'taken'), /container with id exists: taken/);
  assert.is(spares(r).length, 1, 'the spare stays');

  writeFileSync(join(r, 'taken', 'netns'), ''); // what berth does not keep in a spare (a kept namespace's file)
  removeContainerDir(join(r, 'taken'));
  assert.not.ok(existsSync(join(r, 'taken')));
  assert.is(spares(r).length, 1, 'removed, not kept');
});

test('a root keeps 32 spares at most', () => {
  const r = join(root, 'many');
  for (let i = 0; i < 40; i++) makeContainerDir(r, `c${i}`)!();
  for (let i = 0; i < 40; i++) removeContainerDir(join(r, `c${i}`));
  assert.is(spares(r).length, 32);
  assert.equal(readdirSync(r), ['@spare']);
});

test.run();
