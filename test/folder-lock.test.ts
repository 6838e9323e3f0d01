// The folder lock (no root needed): the lock a waiter gets is the lock of the folder at its path.
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lockFolder } from '../actors/folderLock.js';

const root = mkdtempSync(join(tmpdir(), 'berth-lock-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test("a lock waited for while its container was deleted and a new one's folder made at the path: the waiter holds the new folder's lock", async () => {
  const dir = join(root, 'c');
  mkdirSync(dir);
  const release = await lockFolder(dir);
  let waited: (() => void) | null = null;
  const waiter = lockFolder(dir).then((r) => (waited = r));
  await new Promise((r) => setTimeout(r, 20));
  renameSync(dir, join(root, 'moved')); // the old folder, still open in the waiter (a removed one is the same)
  mkdirSync(dir);
  release(); // the waiter now gets the moved folder's lock, sees it is not DIR's, and takes DIR's
  await waiter;
  const second = lockFolder(join(root, 'moved')); // free: the waiter let it go
  (await second)();
  let got = false;
  const third = lockFolder(dir).then((r) => ((got = true), r));
  await new Promise((r) => setTimeout(r, 20));
  assert.not.ok(got, "DIR's lock is the waiter's");
  waited!();
  (await third)();
});

test.run();
