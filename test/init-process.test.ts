// berth-init's parent side (native/initProcess.ts) on small plans of its own, as root: a SYNC step
// is answered by the operation's table by tag, and one the table has no answer for fails the run;
// a seccomp listener comes over the socket with its fd; the init binary it runs is a sealed copy;
// a procfs write lands in a procfs or fails.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { O_DIRECTORY, O_PATH } from '../native/compile/context.js';
import { MS } from '../native/compile/mountFlags.js';
import { CLONE_FLAGS } from '../native/compile/namespaces.js';
import { initBinary, runInit } from '../native/initProcess.js';
import { sealedExecutable } from '../native/spawn.js';
import { Resolve, Slot, step, SyncTag } from '../native/plan.js';
import { thisProcess } from '../native/processParent.js';
import { isRoot } from './helpers/fixtures.js';

const test = suite('init process');
const plan = [step('SYNC', 'have the hooks run', SyncTag.CREATE_HOOKS), step('READY', 'report')];
const run = (syncs: Parameters<typeof runInit>[0]['syncs']) => runInit({ plan, parent: thisProcess, stdio: ['ignore', 'ignore', 'ignore'], syncs, onPid: () => {} });

test('a SYNC is answered by its tag, with the waiting process', async () => {
  const asked: number[] = [];
  await run({ [SyncTag.CREATE_HOOKS]: (pid) => void asked.push(pid) });
  assert.is(asked.length, 1);
  assert.ok(asked[0]! > 0);
});

test('a SYNC the operation has no answer for fails the run in one line: nothing is skipped', async () => {
  let error: Error | undefined;
  try {
    await run({ [SyncTag.ID_MAPS]: () => {} });
  } catch (e) {
    error = e as Error;
  }
  assert.is(error?.message, 'berth-init waits for CREATE_HOOKS (sync tag 2), which this operation does not do');
});

test('a seccomp listener: handed to the SECCOMP_LISTENER answer with its fd; a failed answer or load fails the run in one line', async () => {
  const allowAll = Buffer.alloc(8);
  allowAll.writeUInt16LE(0x06, 0); // BPF_RET | BPF_K
  allowAll.writeUInt32LE(0x7fff0000, 4); // SECCOMP_RET_ALLOW
  const NEW_LISTENER = 8;
  const listenerPlan = (flags: number) => [step('NO_NEW_PRIVS', 'set no_new_privs'), step('SYNC', 'take the listener', SyncTag.SECCOMP_LISTENER), step('SECCOMP', 'load the filter', flags, allowAll), step('READY', 'report')];
  const runListener = (flags: number, answer: (listener: number) => void) =>
    runInit({ plan: listenerPlan(flags), parent: thisProcess, stdio: ['ignore', 'ignore', 'ignore'], syncs: { [SyncTag.SECCOMP_LISTENER]: (_pid, _sendFd, listener) => answer(listener!) }, onPid: () => {} });
  let what = '';
  await runListener(NEW_LISTENER, (listener) => (what = readlinkSync(`/proc/self/fd/${listener}`)));
  assert.is(what, 'anon_inode:seccomp notify');
  const failure = (p: Promise<unknown>) => p.then(() => '', (e: Error) => e.message);
  assert.is(await failure(runListener(NEW_LISTENER, () => { throw new Error('no agent'); })), 'no agent');
  assert.is(await failure(runListener(NEW_LISTENER | (1 << 20), () => {})), 'load the filter: EINVAL (invalid argument)', 'the step fails while berth reads the socket itself');
});

test('the init a container can reach is a sealed copy: not the host binary, and not writable (CVE-2019-5736)', () => {
  const exe = sealedExecutable(initBinary());
  assert.match(readlinkSync(exe), /^\/memfd:berth-init/);
  assert.is.not(statSync(exe).ino, statSync(initBinary()).ino);
  // An open for writing may succeed: every write through it is refused by the seals.
  for (const flags of ['r+', 'a'] as const) {
    let code = '';
    let fd = -1;
    try {
      fd = openSync(exe, flags);
      writeSync(fd, 'x');
    } catch (e) {
      code = (e as NodeJS.ErrnoException).code ?? '';
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    assert.is(code, 'EPERM', `a write (${flags}): the seals refuse it`);
  }
  let truncated = '';
  try {
    truncateSync(exe, 0);
  } catch (e) {
    truncated = (e as NodeJS.ErrnoException).code ?? '';
  }
  assert.is(truncated, 'EPERM', 'nor can it be truncated');
});

test('a procfs write meant for /proc where /proc is not procfs (a bind of a folder) fails, and writes nothing there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-init-proc-'));
  try {
    const root = join(dir, 'root');
    const fake = join(dir, 'fake');
    mkdirSync(join(root, 'proc'), { recursive: true });
    mkdirSync(join(fake, 'sys', 'kernel'), { recursive: true });
    writeFileSync(join(fake, 'sys', 'kernel', 'hostname'), 'untouched\n');
    const fakePlan = [
      step('UNSHARE', 'a mount namespace of its own', CLONE_FLAGS.mount),
      step('MOUNT', 'nothing of it reaches the host', 'none', '/', '', MS.REC | MS.PRIVATE, '', Resolve.ABSOLUTE),
      step('MOUNT', 'a folder at /proc', fake, join(root, 'proc'), '', MS.BIND, '', Resolve.ABSOLUTE),
      step('OPEN', 'open the root', Slot.ROOT, root, O_PATH | O_DIRECTORY),
      step('CHROOT', 'enter it'),
      step('WRITE_FILE', 'set sysctl kernel.hostname=x', '/proc/sys/kernel/hostname', 'x'),
      step('READY', 'report'),
    ];
    let error: Error | undefined;
    try {
      await runInit({ plan: fakePlan, parent: thisProcess, stdio: ['ignore', 'ignore', 'ignore'], onPid: () => {} });
    } catch (e) {
      error = e as Error;
    }
    assert.is(error?.message, 'set sysctl kernel.hostname=x: EXDEV (cross-device link not permitted)');
    assert.is(readFileSync(join(fake, 'sys', 'kernel', 'hostname'), 'utf8'), 'untouched\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (isRoot) test.run();
else console.log('init process: skipped (needs root)');
