// Telling a process's end from its pid and start time, on processes of this test's own: a live
// one, one that exited and one killed (left as zombies for their reaper, then reaped here).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { procStat } from '../native/procfs.js';
import { signalProcess, waitForExit, whyDead } from '../native/signalling.js';
import { spawnProcess } from '../native/spawn.js';
import { reapChild } from '../native/syscalls.js';

const test = suite('signalling');

function start(args: string[]): { pid: number; startTime: number } {
  const pid = spawnProcess('/bin/sh', ['sh', '-c', ...args], [], ['ignore', 'ignore', 'ignore']);
  return { pid, startTime: procStat(pid)!.startTime };
}

test('alive: no reason; exited: its status, still there for its reaper', async () => {
  const p = start(['exec sleep 30']);
  assert.is(whyDead(p.pid, p.startTime), null);
  assert.match(whyDead(p.pid, p.startTime + 1)!, /now names another process/);
  assert.ok(signalProcess(p.pid, p.startTime, 15));
  assert.ok(await waitForExit(p.pid, p.startTime, 5_000));
  assert.is(whyDead(p.pid, p.startTime), `pid ${p.pid} was killed by SIGTERM`);
  assert.is(whyDead(p.pid, p.startTime), `pid ${p.pid} was killed by SIGTERM`, 'not reaped by asking');
  assert.equal(reapChild(p.pid), { pid: p.pid, exitCode: null, signal: 15 });
  assert.is(whyDead(p.pid, p.startTime), `pid ${p.pid} is gone`);
});

test('an exit status', async () => {
  const p = start(['exit 3']);
  assert.ok(await waitForExit(p.pid, p.startTime, 5_000));
  assert.is(whyDead(p.pid, p.startTime), `pid ${p.pid} exited with status 3`);
  reapChild(p.pid);
});

test.run();
