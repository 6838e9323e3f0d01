// The lifecycle through cli/berth, as podman, containerd and the validation suite drive it.
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sleepSync, waitUntil } from './helpers/wait.js';
import { spawn } from 'node:child_process';
import { berth, berthBin, cgroupsLeft, isRoot, makeBundle, ok, uniqueId, workspace } from './helpers/fixtures.js';

/**
 * The lifecycle suite, with ENV set for its calls: the server path by default, and the in-process
 * path (BERTH_NO_SERVER=1) from cli-lifecycle-inprocess.test.ts.
 */
export function cliLifecycleSuite(name: string, env: Record<string, string>) {
  const test = suite(name);
  test.before(() => void Object.assign(process.env, env));
  test.after(() => {
    for (const k of Object.keys(env)) delete process.env[k];
  });
  const { dir, root, rootfs } = workspace(test);

  function bundle(name: string, args: string[], patch?: Parameters<typeof makeBundle>[3]) {
    return makeBundle(join(dir, name), rootfs, args, patch);
  }

  function state(id: string) {
    return JSON.parse(ok(berth(root, ['state', id]), 'state'));
  }

  test('create → state created → start → running → kill → stopped → delete', () => {
    const id = uniqueId('life');
    const b = bundle(id, ['sleep', '30']);
    const pidFile = join(dir, `${id}.pid`);
    ok(berth(root, ['create', '--bundle', b, '--pid-file', pidFile, id]), 'create');
    const s = state(id);
    assert.is(s.status, 'created');
    assert.is(s.bundle, b);
    assert.is(s.ociVersion, '1.3.0');
    assert.is(Number(readFileSync(pidFile, 'utf8')), s.pid);
    assert.is(readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim(), 'berth-init', 'the program has not run before start');
    assert.match(readlinkSync(`/proc/${s.pid}/exe`), /^\/memfd:berth-init/, 'berth-init runs from a sealed copy, not the host file');
    assert.match(readFileSync(`/proc/${s.pid}/status`, 'utf8'), /^CapEff:/m);
    assert.ok(cgroupsLeft(`berth-${id}`).length > 0, 'the cgroup exists before start');
    assert.ok(readFileSync(`/sys/fs/cgroup/pids/berth-${id}/cgroup.procs`, 'utf8').includes(String(s.pid)), 'the process is in its cgroup');

    ok(berth(root, ['start', id]), 'start');
    assert.is(state(id).status, 'running');
    assert.is(readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim(), 'sleep');

    const again = berth(root, ['start', id]);
    assert.is(again.status, 1);
    assert.is(again.stderr.trim(), 'cannot start an already running container');

    const early = berth(root, ['delete', id]);
    assert.is(early.status, 1);
    assert.is(early.stderr.trim(), `cannot delete container ${id} that is not stopped: running`);
    assert.is(state(id).status, 'running', 'a refused delete changes nothing');

    ok(berth(root, ['kill', id, 'KILL']), 'kill');
    waitUntil(() => state(id).status === 'stopped');
    assert.is(state(id).status, 'stopped');
    assert.is(berth(root, ['kill', id]).stderr.trim(), 'container not running');

    ok(berth(root, ['delete', id]), 'delete');
    assert.not.ok(existsSync(join(root, id)), 'state folder removed');
    assert.equal(cgroupsLeft(`berth-${id}`), [], 'cgroups removed');
    assert.is(berth(root, ['state', id]).stderr.trim(), 'container does not exist');
  });

  test('run in the foreground passes stdio through and exits with the program’s status', () => {
    const id = uniqueId('run');
    const r = berth(root, ['run', '-b', bundle(id, ['sh', '-c', 'read x; echo "got $x"; echo err >&2; exit 7']), id], { input: 'ping\n' });
    assert.is(r.stdout, 'got ping\n');
    assert.is(r.stderr, 'err\n');
    assert.is(r.status, 7);
    assert.not.ok(existsSync(join(root, id)), 'run deletes the container after it exits');
  });

  test('run forwards the signals it gets to the container', async () => {
    const id = uniqueId('fwd');
    const child = spawn(berthBin, ['--root', root, 'run', '-b', bundle(id, ['sh', '-c', 'trap "exit 5" TERM; echo ready; sleep 30 & wait']), id], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGTERM');
    assert.is(await exited, 5);
  });

  test('run: a container killed by signal N gives 128+N', async () => {
    const id = uniqueId('sig');
    const child = spawn(berthBin, ['--root', root, 'run', '-b', bundle(id, ['sleep', '30']), id], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    assert.ok(waitUntil(() => berth(root, ['state', id]).stdout.includes('"running"')), 'running');
    ok(berth(root, ['kill', id, 'KILL']), 'kill');
    assert.is(await exited, 128 + 9);
    assert.not.ok(existsSync(join(root, id)), 'run deleted the container after it was killed');
  });

  test('run --detach leaves it running; list shows it; delete --force removes it', () => {
    const id = uniqueId('det');
    ok(berth(root, ['run', '-d', '-b', bundle(id, ['sleep', '30']), id]), 'run -d');
    assert.is(state(id).status, 'running');
    const list = JSON.parse(ok(berth(root, ['list', '--format', 'json']), 'list'));
    assert.ok(list.some((c: { id: string; status: string }) => c.id === id && c.status === 'running'));
    assert.match(ok(berth(root, ['list']), 'list'), new RegExp(`^ID\\s+PID\\s+STATUS\\s+BUNDLE\\s+CREATED\\s+OWNER\\n(.*\\n)*${id}\\s+\\d+\\s+running`));
    assert.ok(ok(berth(root, ['list', '-q']), 'list -q').split('\n').includes(id));
    const pid = state(id).pid;
    ok(berth(root, ['delete', '--force', id]), 'delete -f');
    assert.not.ok(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'the process is gone');
    assert.equal(cgroupsLeft(`berth-${id}`), []);
  });

  test('a second create with the same id is refused and leaves the first alone', () => {
    const id = uniqueId('dup');
    const b = bundle(id, ['sleep', '30']);
    ok(berth(root, ['create', '-b', b, id]), 'create');
    const r = berth(root, ['create', '-b', b, id]);
    assert.is(r.status, 1);
    assert.is(r.stderr.trim(), `container with id exists: ${id}`);
    assert.is(state(id).status, 'created');
    ok(berth(root, ['delete', '-f', id]), 'delete -f');
  });

  test('kill takes names with or without SIG and numbers; --all reaches every process', () => {
    const id = uniqueId('kill');
    ok(berth(root, ['run', '-d', '-b', bundle(id, ['sh', '-c', 'trap "exit 3" USR1; sleep 30 & wait']), id]), 'run');
    sleepSync(200);
    assert.is(berth(root, ['kill', id, 'NOPE']).stderr.trim(), 'unknown signal "NOPE"');
    ok(berth(root, ['kill', id, 'SIGUSR1']), 'kill USR1');
    waitUntil(() => state(id).status === 'stopped');
    assert.is(state(id).status, 'stopped');
    ok(berth(root, ['delete', id]), 'delete');

    const id2 = uniqueId('killall');
    ok(berth(root, ['run', '-d', '-b', bundle(id2, ['sh', '-c', 'sleep 30 & sleep 30 & wait']), id2]), 'run');
    sleepSync(200);
    const procs = () => readFileSync(`/sys/fs/cgroup/pids/berth-${id2}/cgroup.procs`, 'utf8').trim().split('\n').filter(Boolean);
    assert.is(procs().length, 3);
    ok(berth(root, ['kill', '--all', id2, '9']), 'kill --all');
    waitUntil(() => procs().length === 0);
    assert.equal(procs(), []);
    ok(berth(root, ['delete', id2]), 'delete');

    // Without a pid namespace of its own, the container's process can exit and leave its children:
    // stopped, yet kill --all reaches them (containerd's shim sends it then), as runc and crun do.
    const id3 = uniqueId('orphans');
    const noPidNs = (c: Parameters<NonNullable<Parameters<typeof makeBundle>[3]>>[0]) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'pid'));
    ok(berth(root, ['run', '-d', '-b', bundle(id3, ['sh', '-c', 'sleep 30 & exit 0'], noPidNs), id3]), 'run');
    const left = () => readFileSync(`/sys/fs/cgroup/pids/berth-${id3}/cgroup.procs`, 'utf8').trim().split('\n').filter(Boolean);
    waitUntil(() => state(id3).status === 'stopped');
    assert.is(left().length, 1, 'the sleep outlived it');
    assert.is(berth(root, ['kill', id3, '9']).stderr.trim(), 'container not running');
    ok(berth(root, ['kill', '--all', id3, '9']), 'kill --all of a stopped container');
    waitUntil(() => left().length === 0);
    assert.equal(left(), []);
    ok(berth(root, ['delete', id3]), 'delete');
  });

  test('spec writes a config that runs; a second spec refuses to overwrite; features lists what berth does', () => {
    const b = join(dir, 'spec');
    mkdirSync(b);
    ok(berth(root, ['spec', '--bundle', b]), 'spec');
    const config = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
    config.root.path = rootfs;
    config.process.args = ['hostname'];
    writeFileSync(join(b, 'config.json'), JSON.stringify(config));
    assert.is(ok(berth(root, ['run', '-b', b, uniqueId('spec')]), 'run'), 'berth\n');
    const again = berth(root, ['spec', '--bundle', b]);
    assert.is(again.status, 1);
    assert.match(again.stderr, /config\.json exists/);
    const features = JSON.parse(ok(berth(root, ['features']), 'features'));
    assert.ok(features.linux.namespaces.includes('pid'));
    assert.ok(features.mountOptions.includes('rbind'));
  });

  test('create --dry-run prints the plan and creates nothing; statechart prints the lifecycle', () => {
    const id = uniqueId('dry');
    const out = ok(berth(root, ['create', '--dry-run', '--bundle', bundle(id, ['true']), id]), 'dry run');
    assert.match(out, new RegExp(`^state folder ${join(root, id)}\n`));
    assert.match(out, /^\s+\d+\s+UNSHARE\s+create the pid, network, ipc, uts, mount, cgroup namespaces/m);
    assert.match(out, /^\s+\d+\s+EXEC\s+exec "true"/m);
    assert.not.ok(existsSync(join(root, id)));
    assert.equal(cgroupsLeft(`berth-${id}`), []);
    const running = ok(berth(root, ['statechart']), 'statechart').split('\n').find((l) => l.startsWith('running:'))!;
    for (const t of ['PAUSE → running.pausing', 'KILL → running.signalling', 'EXEC → running.executing', 'UPDATE → running.updating', 'EXITED → stopped', 'DELETE [forced] → deleting', 'CHECKPOINT → running.checkpointing']) assert.ok(running.includes(t), `${t} in: ${running}`);
  });

  test('two containers under one parent cgroup (containerd\'s /default): deleting the first leaves the parent to the second', () => {
    const parent = uniqueId('berth-shared');
    const ids = [uniqueId('sharedA'), uniqueId('sharedB')];
    for (const [i, id] of ids.entries())
      ok(berth(root, ['run', '-d', '-b', bundle(id, ['sleep', '30'], (c) => (c.linux.cgroupsPath = `/${parent}/${i}`)), id]), `run ${id}`);
    ok(berth(root, ['delete', '--force', ids[0]!]), 'delete the first, whose create made the parent');
    assert.ok(readFileSync(`/sys/fs/cgroup/pids/${parent}/1/cgroup.procs`, 'utf8').trim() !== '', 'the second is still in its cgroup');
    ok(berth(root, ['delete', '--force', ids[1]!]), 'delete the second');
    assert.equal(cgroupsLeft(`${parent}/0`).concat(cgroupsLeft(`${parent}/1`)), [], "both containers' cgroups are gone");
    // The parent stays, as runc leaves it: removed here, in every hierarchy.
    for (const c of cgroupsLeft(parent)) rmdirSync(c);
  });

  test('--log with --log-format json records errors as containerd reads them', () => {
    const log = join(dir, 'log.json');
    const r = berth(root, ['--log', log, '--log-format', 'json', 'start', 'nope']);
    assert.is(r.status, 1);
    const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!);
    assert.is(line.level, 'error');
    assert.is(line.msg, 'container does not exist');
  });
  return test;
}

if (isRoot) cliLifecycleSuite('cli lifecycle', {}).run();
else console.log('cli lifecycle: skipped (needs root)');
