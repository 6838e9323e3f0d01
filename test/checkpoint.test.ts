// checkpoint and restore with a real CRIU, as root: a counting container stops counting when
// dumped and goes on from where it stopped when restored, round after round; --leave-running; a
// new id; a terminal through a console socket; the API's results and events; and bad input that
// leaves nothing behind. The CRIU binary is testCriu()'s ($BERTH_CRIU, else the one setup.sh
// built, else `criu` on PATH); the tests skip, and say why, when `criu check` fails with it.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime, type RuntimeEvent } from '../actors/runtime.js';
import { assertNothingLeft, berth, berthBin, cgroupsLeft, isRoot, makeBundle, ok, rejects, testCriu, uniqueId, workspace } from './helpers/fixtures.js';
import { counterScript, countIn, withTmp } from './helpers/counter.js';
import { consoleReceiver } from './helpers/console.js';
import { sleepSync, waitUntil } from './helpers/wait.js';
import { prng } from './helpers/configFuzz.js';

const criu = testCriu();

/** Why these tests cannot run here, or null when they can. */
function unavailable(): string | null {
  if (!isRoot) return 'needs root';
  const r = spawnSync(criu, ['check'], { encoding: 'utf8' });
  if (r.error) return `${criu}: ${r.error.message}`;
  if (r.status !== 0) return `criu check fails with ${criu}: ${(r.stderr + r.stdout).trim().split('\n').at(-1)}`;
  return null;
}

const skip = unavailable();
const test = suite('checkpoint and restore');
const { dir, root, rootfs } = skip ? { dir: '', root: '', rootfs: '' } : workspace(test);

// Counts on a tmpfs, from what the file says: a restart would begin at 1 again.
const COUNTER = counterScript(0.05);
/** A dump takes well under a second: the counter cannot have gone further than this past the last value read before it. */
const TICKS_DURING_DUMP = 60;

/** berth with CRIU chosen, stdio all /dev/null (a detached container inherits it). */
function quiet(args: string[]): number | null {
  return spawnSync(berthBin, ['--root', root, '--criu', criu, ...args], { stdio: 'ignore', timeout: 60_000 }).status;
}

const withCriu = (args: string[], opts?: Parameters<typeof berth>[2]) => berth(root, ['--criu', criu, ...args], opts);
const state = (id: string) => JSON.parse(ok(berth(root, ['state', id]), 'state'));
const gone = (pid: number) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');

function counting(id: string): number {
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', COUNTER], withTmp);
  assert.is(quiet(['run', '-d', '--bundle', b, id]), 0, 'run -d');
  const pid = state(id).pid;
  assert.ok(waitUntil(() => countIn(pid) > 3), 'it counts');
  return pid;
}

test('a counter checkpointed stops; restored under its id, it goes on from where it stopped — three rounds', () => {
  const id = uniqueId('count');
  let pid = counting(id);
  const rounds: string[] = [];
  for (let round = 1; round <= 3; round++) {
    const images = join(dir, `${id}-images-${round}`);
    const before = countIn(pid);
    ok(withCriu(['checkpoint', '--image-path', images, id]), `checkpoint ${round}`);
    assert.ok(waitUntil(() => gone(pid)), 'the checkpointed process is gone');
    assert.is(state(id).status, 'stopped');
    ok(berth(root, ['delete', id]), 'delete');
    assert.equal(cgroupsLeft(`berth-${id}`), []);
    assert.is(quiet(['restore', '-d', '--image-path', images, '--bundle', join(dir, id), id]), 0, `restore ${round}`);
    const s = state(id);
    assert.is(s.status, 'running');
    assert.is.not(s.pid, pid, 'a new process');
    pid = s.pid;
    const resumed = countIn(pid);
    assert.ok(resumed >= before && resumed <= before + TICKS_DURING_DUMP, `round ${round}: resumed at ${resumed}, last read before the dump ${before}`);
    assert.ok(waitUntil(() => countIn(pid) > resumed + 3), 'and counts on');
    assert.ok(readFileSync(`/sys/fs/cgroup/pids/berth-${id}/cgroup.procs`, 'utf8').includes(String(pid)), 'in the container\'s cgroup');
    rounds.push(`round ${round}: ${before} before the dump, resumed at ${resumed}`);
  }
  console.log(`\n  counter: ${rounds.join('; ')}`);
  ok(berth(root, ['delete', '-f', id]), 'delete -f');
  assertNothingLeft(root, id, join(dir, id));
});

test('--leave-running keeps it counting; its images restore under a new id beside it', () => {
  const id = uniqueId('leave');
  const pid = counting(id);
  const images = join(dir, `${id}-images`);
  ok(withCriu(['checkpoint', '--leave-running', '--image-path', images, id]), 'checkpoint --leave-running');
  const dumped = countIn(pid);
  assert.is(state(id).status, 'running');
  assert.is(state(id).pid, pid);
  assert.ok(waitUntil(() => countIn(pid) > dumped + 3), 'still counting');
  const copy = uniqueId('copy');
  const pidFile = join(dir, `${copy}.pid`);
  assert.is(quiet(['restore', '-d', '--pid-file', pidFile, '--image-path', images, '--bundle', join(dir, id), copy]), 0, 'restore as a new id');
  const s = state(copy);
  assert.is(s.status, 'running');
  assert.is(Number(readFileSync(pidFile, 'utf8')), s.pid, '--pid-file has the restored pid');
  assert.ok(countIn(s.pid) < countIn(pid), 'the copy resumed from the dump, behind the original');
  assert.ok(readFileSync(`/sys/fs/cgroup/pids/berth-${copy}/cgroup.procs`, 'utf8').includes(String(s.pid)), 'the copy has a cgroup of its own');
  assert.is(state(id).status, 'running', 'the original runs on');
  ok(berth(root, ['delete', '-f', copy]), 'delete copy');
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

test('the network namespace: dumped with lo up by default; with --empty-ns network it comes back empty, lo still up', () => {
  const id = uniqueId('net');
  counting(id);
  const lo = () => ok(berth(root, ['exec', id, 'ip', 'link', 'show', 'lo']), 'exec ip link');
  for (const flags of [[], ['--empty-ns', 'network']]) {
    const images = join(dir, `${id}-images-${flags.length}`);
    ok(withCriu(['checkpoint', ...flags, '--image-path', images, id]), `checkpoint ${flags.join(' ')}`);
    assert.is(readdirSync(images).some((f) => /^netns-\d+\.img$/.test(f)), flags.length === 0, 'the network namespace is in the images unless left out');
    ok(berth(root, ['delete', id]), 'delete');
    assert.is(quiet(['restore', '-d', '--image-path', images, '--bundle', join(dir, id), id]), 0, `restore ${flags.join(' ')}`);
    assert.match(lo(), /<LOOPBACK,UP,LOWER_UP>/);
  }
  ok(berth(root, ['delete', '-f', id]), 'delete -f');
});

test('--pre-dump keeps the container running, or fails in one line where the kernel cannot track memory', () => {
  const id = uniqueId('pre');
  const pid = counting(id);
  const r = withCriu(['checkpoint', '--pre-dump', '--image-path', join(dir, `${id}-pre`), id]);
  if (r.status !== 0) assert.match(r.stderr, /^criu pre-dump failed: Tracking memory is not available\. .* \(log: .+\/dump\.log\)\n$/);
  assert.is(state(id).status, 'running');
  const before = countIn(pid);
  assert.ok(waitUntil(() => countIn(pid) > before + 3), 'it counts on: the cgroup berth froze for the dump is thawed');
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

test('a terminal container: restored, its new terminal goes to the console socket', async () => {
  const id = uniqueId('tty');
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', 'while read line; do echo "got $line on $(tty)"; done'], (c) => (c.process.terminal = true));
  const first = await consoleReceiver(dir);
  ok(berth(root, ['run', '-d', '--console-socket', first.socket, '--bundle', b, id]), 'run -d');
  sleepSync(300);
  const images = join(dir, `${id}-images`);
  ok(withCriu(['checkpoint', '--image-path', images, id]), 'checkpoint');
  assert.match(await first.output, /got hello-from-receiver on \/dev\/pts\/0/, 'the first terminal worked, and closed with the dump');
  ok(berth(root, ['delete', id]), 'delete');
  const second = await consoleReceiver(dir);
  ok(withCriu(['restore', '-d', '--console-socket', second.socket, '--image-path', images, '--bundle', b, id]), 'restore');
  assert.is(state(id).status, 'running');
  sleepSync(300);
  ok(berth(root, ['delete', '-f', id]), 'delete -f');
  const out = await second.output;
  assert.match(out, /^name: \/dev\/pts\/\d+$/m);
  assert.match(out, /got hello-from-receiver on \/dev\/pts\/0/, 'the restored shell reads and writes its new terminal');
});

test('the API: typed results, state events, and typed errors', async () => {
  const rt = new Runtime({ root, criu });
  const events: RuntimeEvent[] = [];
  rt.on((e) => events.push(e));
  try {
    const id = uniqueId('api');
    const bundle = makeBundle(join(dir, id), rootfs, ['sh', '-c', COUNTER], withTmp);
    await rt.run({ id, bundle, stdio: 'ignore', detach: true });
    sleepSync(200);
    const images = join(dir, `${id}-images`);
    assert.equal(await rt.checkpoint({ id, imagePath: images }), { id, status: 'stopped' });
    await rt.delete(id);
    const restored = await rt.restore({ id, imagePath: images, bundle, stdio: 'ignore' });
    assert.ok(restored.pid > 0);
    assert.is((await rt.state(id)).status, 'running');
    const mine = events.filter((e) => e.type === 'state' && e.id === id).map((e) => (e as { status: string }).status);
    assert.equal(mine, ['created', 'running', 'stopped', 'deleted', 'running']);
    await rejects(rt.restore({ id, imagePath: images, bundle }), 'exists', `container with id exists: ${id}`);
    await rt.delete(id, { force: true });
  } finally {
    await rt.close();
  }
});

test('refused: a container that is not running, an id that exists, images that are missing or none', () => {
  const id = uniqueId('bad');
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', COUNTER], withTmp);
  ok(berth(root, ['create', '--bundle', b, id]), 'create');
  const images = join(dir, `${id}-images`);
  const created = withCriu(['checkpoint', '--image-path', images, id]);
  assert.is(created.status, 1);
  assert.is(created.stderr, 'Container cannot be checkpointed in created state\n');
  assert.not.ok(existsSync(images), 'no image folder made');
  ok(berth(root, ['kill', id, 'KILL']), 'kill');
  assert.ok(waitUntil(() => state(id).status === 'stopped'));
  assert.is(withCriu(['checkpoint', '--image-path', images, id]).stderr, 'Container cannot be checkpointed in stopped state\n');
  assert.is(withCriu(['checkpoint', '--image-path', images, 'nope']).stderr, 'container does not exist\n');

  const live = uniqueId('live');
  counting(live);
  const liveImages = join(dir, `${live}-images`);
  ok(withCriu(['checkpoint', '--leave-running', '--image-path', liveImages, live]), 'checkpoint');
  const exists = withCriu(['restore', '-d', '--image-path', liveImages, '--bundle', b, id]);
  assert.is(exists.stderr, `container with id exists: ${id}\n`);
  assert.is(state(id).status, 'stopped', 'the existing container is left as it was');

  const fresh = uniqueId('fresh');
  const missing = withCriu(['restore', '-d', '--image-path', join(dir, 'no-such-images'), '--bundle', b, fresh]);
  assert.is(missing.status, 1);
  assert.is(missing.stderr, `image path ${join(dir, 'no-such-images')}: no such directory\n`);
  const empty = withCriu(['restore', '-d', '--image-path', dir, '--bundle', b, fresh]);
  assert.is(empty.stderr, `image path ${dir} holds no checkpoint (no inventory.img)\n`);
  const mode = withCriu(['checkpoint', '--manage-cgroups-mode', 'loose', '--image-path', liveImages, live]);
  assert.is(mode.stderr, 'invalid --manage-cgroups-mode "loose": ignore, soft, full, strict\n');
  assertNothingLeft(root, fresh, join(dir, fresh));
  ok(berth(root, ['delete', '-f', live]), 'delete');
  ok(berth(root, ['delete', id]), 'delete');
});

/** A counting container ID checkpointed and deleted: its image folder. */
function checkpointedAndDeleted(id: string): string {
  counting(id);
  const images = join(dir, `${id}-images`);
  ok(withCriu(['checkpoint', '--image-path', images, id]), 'checkpoint');
  ok(berth(root, ['delete', id]), 'delete');
  return images;
}

test('a restore CRIU fails midway leaves nothing: no state folder, cgroup, mount or process', () => {
  const id = uniqueId('broken');
  const images = checkpointedAndDeleted(id);
  // Without its fs image the restored process fails: CRIU has made the processes by then.
  rmSync(join(images, 'fs-1.img'));
  const r = withCriu(['restore', '-d', '--image-path', images, '--bundle', join(dir, id), id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, new RegExp(`^criu restore failed: .+ \\(log: ${images}/restore.log\\)\\n$`));
  assertNothingLeft(root, id, join(dir, id));
});

test("a bundle whose seccomp filter notifies is not restored: CRIU restores the filter without its listener", () => {
  const id = uniqueId('notify');
  const images = checkpointedAndDeleted(id);
  const b = makeBundle(join(dir, `${id}-notify`), rootfs, ['true'], (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] } as never));
  const r = withCriu(['restore', '-d', '--image-path', images, '--bundle', b, id]);
  assert.equal([r.status, r.stderr], [1, 'linux.seccomp: SCMP_ACT_NOTIFY: CRIU restores the filter without its listener, so its agent would get none: not restored\n']);
  assertNothingLeft(root, id, join(dir, id));
});

test('a CRIU that never answers (as one restoring a hostile image for ever): the call that ends ends it, and the restore is undone', () => {
  const id = uniqueId('stuck');
  const images = checkpointedAndDeleted(id);
  // Passes berth's check; as swrk it keeps the socket, with a helper in its process group that keeps it too.
  const stuck = join(dir, 'stuck-criu');
  const nap = `613.${process.pid}`; // what its processes are found by
  writeFileSync(stuck, `#!/bin/sh\ncase "$1" in check) exit 0 ;; --version) echo "Version: 4.2" ;; swrk) sleep ${nap} & exec sleep ${nap} ;; esac\n`);
  chmodSync(stuck, 0o755);
  const started = Date.now();
  const r = berth(root, ['--criu', stuck, 'restore', '-d', '--image-path', images, '--bundle', join(dir, id), id], { timeout: 3000 });
  assert.is(r.status, null, 'the call was ended, by its timeout');
  assert.ok(waitUntil(() => !existsSync(join(root, id)), 10_000), 'undone once the call ended');
  assert.ok(Date.now() - started < 13_000);
  assertNothingLeft(root, id, join(dir, id));
  assert.equal(spawnSync('pgrep', ['-f', `sleep ${nap}`]).stdout.toString(), '', "no process of the stuck CRIU's left");
});

test('truncated, corrupted and hostile image folders: restore gives a container or one line, and leaves nothing', () => {
  const id = uniqueId('hostile');
  const images = checkpointedAndDeleted(id);
  const files = readdirSync(images).filter((f) => f.endsWith('.img')).sort();
  const r = prng(20261203);
  const pick = () => files[Math.floor(r() * files.length)]!;
  // Each variant is a copy of the checkpoint with one thing done to it.
  const variants: [string, (d: string) => void][] = [
    ['inventory.img emptied', (d) => truncateSync(join(d, 'inventory.img'), 0)],
    ['pstree.img removed', (d) => rmSync(join(d, 'pstree.img'))],
    ['a symlink to /etc/shadow for inventory.img', (d) => (rmSync(join(d, 'inventory.img')), symlinkSync('/etc/shadow', join(d, 'inventory.img')))],
    ['a folder for pstree.img', (d) => (rmSync(join(d, 'pstree.img')), mkdirSync(join(d, 'pstree.img')))],
  ];
  // BERTH_CRIU_FUZZ_COUNT pairs (a cut and a flipped byte) at volume: `npm run fuzz:criu`.
  const pairs = Number(process.env.BERTH_CRIU_FUZZ_COUNT ?? 8);
  for (let i = 0; i < pairs; i++) {
    const f = pick();
    const cut = r();
    variants.push([`${f} cut to ${Math.round(cut * 100)}%`, (d) => truncateSync(join(d, f), Math.floor(statSync(join(d, f)).size * cut))]);
    const g = pick();
    const at = r();
    variants.push([`a byte of ${g} flipped at ${Math.round(at * 100)}%`, (d) => {
      const b = readFileSync(join(d, g));
      if (b.length) b[Math.floor(at * b.length)] ^= 0xff;
      writeFileSync(join(d, g), b);
    }]);
  }
  const outcomes = { restored: 0, refused: 0, ended: 0 };
  for (const [i, [what, harm]] of variants.entries()) {
    const copy = join(dir, `${id}-variant-${i}`);
    cpSync(images, copy, { recursive: true });
    harm(copy);
    const vid = uniqueId('hostile');
    const res = withCriu(['restore', '-d', '--image-path', copy, '--bundle', join(dir, id), vid], { timeout: 20_000 });
    const said = `${what}: status ${res.status}, ${JSON.stringify(res.stderr)}`;
    if (res.status === null) {
      // CRIU can restore a hostile image for ever (its restorer spinning): the call, ended as a
      // user's ^C or a supervisor's timeout ends it, ends CRIU, and the restore is undone.
      outcomes.ended++;
      assert.ok(waitUntil(() => !existsSync(join(root, vid)), 15_000), `undone once the call ended: ${said}`);
    } else if (res.status === 0) {
      outcomes.restored++;
      ok(berth(root, ['delete', '--force', vid]), 'delete');
    } else {
      outcomes.refused++;
      assert.is(res.status, 1, said);
      assert.is(res.stderr.trimEnd().split('\n').length, 1, `one line: ${said}`);
    }
    assertNothingLeft(root, vid, join(dir, id));
    rmSync(copy, { recursive: true, force: true });
  }
  if (process.env.BERTH_CRIU_FUZZ_COUNT) console.log(`\n${variants.length} image folders: ${outcomes.restored} restored, ${outcomes.refused} refused in one line, ${outcomes.ended} ended by the call's end`);
  assert.ok(outcomes.refused >= 4, `the broken ones are refused: ${JSON.stringify(outcomes)}`);
});

test('berth killed after CRIU dumped, and after CRIU restored: state tells the truth, delete -f leaves nothing', () => {
  const id = uniqueId('ckfault');
  counting(id);
  const images = join(dir, `${id}-images`);
  const dieAt = (point: string, args: string[]) => spawnSync(berthBin, ['--root', root, '--no-server', '--criu', criu, ...args], { stdio: 'ignore', env: { ...process.env, BERTH_DIE_AT: point }, timeout: 60_000 });
  assert.is(dieAt('checkpoint.dumped', ['checkpoint', '--image-path', images, id]).signal, 'SIGKILL');
  assert.is(state(id).status, 'stopped', 'dumped: its processes are gone');
  ok(berth(root, ['delete', '--force', id]), 'delete -f');
  assertNothingLeft(root, id, join(dir, id));
  assert.is(dieAt('restore.restored', ['restore', '-d', '--image-path', images, '--bundle', join(dir, id), id]).signal, 'SIGKILL');
  assert.is(state(id).status, 'creating', 'restored, never recorded as created');
  ok(berth(root, ['delete', '--force', id]), 'delete -f');
  assertNothingLeft(root, id, join(dir, id));
});

test('a CRIU that does not work: one line with its reason, nothing done', () => {
  const fake = join(dir, 'broken-criu');
  writeFileSync(fake, '#!/bin/sh\n[ "$1" = --version ] && { echo "Version: 3.17"; exit 0; }\necho "Error (criu/kerndat.c:1): kernel too new" >&2\nexit 1\n');
  chmodSync(fake, 0o755);
  const id = uniqueId('nocriu');
  counting(id);
  const images = join(dir, `${id}-images`);
  const r = berth(root, ['--criu', fake, 'checkpoint', '--image-path', images, id]);
  assert.is(r.status, 1);
  assert.is(r.stderr, `criu check failed: kernel too new (${fake}, CRIU 3.17)\n`);
  assert.not.ok(existsSync(images));
  assert.is(state(id).status, 'running');
  const missing = berth(root, ['--criu', join(dir, 'no-criu-here'), 'restore', '--image-path', images, uniqueId('x')]);
  assert.is(missing.stderr, `criu check failed: ${join(dir, 'no-criu-here')}: no such executable\n`);
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

if (!skip) test.run();
else console.log(`checkpoint and restore: skipped (${skip})`);
