// cli/berth over the berth server, with real containers: what a container's parent is (the caller's,
// as with runc), SIGKILL of the server in the middle of operations, who may call, racing first
// calls, the idle exit, and messages that are not calls.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeClient, PROTOCOL_VERSION } from '../actors/server/protocol.js';
import { assertNothingLeft, berth, berthBin, isRoot, makeBundle, ok, projectRoot, serverPid, stopServer, uniqueId, workspace } from './helpers/fixtures.js';
import { sleepSync, waitUntil } from './helpers/wait.js';

const test = suite('server');
const { dir, root, rootfs } = workspace(test);
const subreaper = join(projectRoot, 'test', 'helpers', 'subreaper.py');

/** Run cli/berth ARGS under a subreaper: its exit status and the processes it left to the subreaper. */
function underSubreaper(args: string[]): { status: number; children: number[] } {
  const r = spawnSync('python3', [subreaper, berthBin, '--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The berth servers running for ROOT. */
function serversOf(r: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`\0--root\0${r}\0server`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('the container process and an exec\'d one are children of the caller, as runc\'s', () => {
  ok(berth(root, ['list']), 'a warm server');
  const id = uniqueId('parent');
  const b = makeBundle(join(dir, id), rootfs, ['sleep', '30']);
  const created = underSubreaper(['create', '--bundle', b, id]);
  assert.is(created.status, 0);
  const pid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid;
  assert.ok(created.children.includes(pid), `the container process ${pid} passed to the caller's subreaper (children: ${created.children})`);
  ok(berth(root, ['start', id]), 'start');
  const pidFile = join(dir, `${id}.exec.pid`);
  const execd = underSubreaper(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '30']);
  assert.is(execd.status, 0);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(execd.children.includes(execPid), `the exec'd process ${execPid} passed to the caller's subreaper`);
  ok(berth(root, ['delete', '--force', id]), 'delete');
  assertNothingLeft(root, id, dir);
});

test('spec and statechart read no state: they start no server and make no state root', () => {
  const other = join(dir, 'untouched-root');
  const bundle = join(dir, 'spec-bundle');
  mkdirSync(bundle);
  ok(berth(other, ['spec', '--bundle', bundle]), 'spec');
  assert.ok(existsSync(join(bundle, 'config.json')));
  ok(berth(other, ['statechart']), 'statechart');
  assert.not.ok(existsSync(other), 'no state root, no server');
});

test('a foreground run and exec report their process\'s exit status', () => {
  const id = uniqueId('status');
  const r = berth(root, ['run', '--bundle', makeBundle(join(dir, id), rootfs, ['sh', '-c', 'echo out; echo err >&2; exit 7']), id]);
  assert.is(r.status, 7);
  assert.is(r.stdout, 'out\n');
  assert.is(r.stderr, 'err\n');
  assertNothingLeft(root, id, dir);
});

test('SIGKILL of the server during create, start and delete: the next calls work, delete -f leaves nothing', () => {
  for (const [op, hook] of [
    ['create', 'createRuntime'],
    ['start', 'poststart'],
    ['delete', 'poststop'],
  ] as const) {
    const id = uniqueId(`kill-${op}`);
    const marker = join(dir, `${id}.hook`);
    const b = makeBundle(join(dir, id), rootfs, ['sleep', '30'], (c) => {
      c.hooks = { [hook]: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}; exec sleep 0.5`] }] };
    });
    if (op !== 'create') ok(berth(root, ['create', '--bundle', b, id]), 'create');
    if (op === 'delete') ok(berth(root, ['start', id]), 'start');
    const pid = serverPid(root);
    assert.ok(pid, 'a server runs');
    const call = spawnSync('sh', ['-c', `${berthBin} --root ${root} ${op === 'create' ? `create --bundle ${b}` : op === 'delete' ? 'delete --force' : op} ${id} 2>&1 & while [ ! -e ${marker} ]; do sleep 0.01; done; kill -9 ${pid}; wait $!`], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.is.not(call.status, 0, `${op}: the call fails`);
    assert.match(call.stdout, /^berth: the berth server ended before the call did \(its log: .*\)\n$/, `${op}: one line says why`);
    sleepSync(600); // the hook the killed server started ends
    const state = berth(root, ['state', id]);
    assert.ok(state.status === 0 || state.stderr === 'container does not exist\n', `${op}: state answers (${state.stderr})`);
    const del = berth(root, ['delete', '--force', id]);
    assert.ok(del.status === 0 || del.stderr === 'container does not exist\n', `${op}: delete -f (${del.stderr})`);
    assertNothingLeft(root, id, dir);
    assert.is.not(serverPid(root), pid, 'a new server');
  }
});

/** A client of its own: connect to argv[1], send a call for `list`, print all that comes back. */
const rawCall = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = struct.pack('<iI', ${PROTOCOL_VERSION}, 1) + struct.pack('<I', 4) + b'list' + struct.pack('<I', 0) + struct.pack('<I', 1) + b'/'
s.sendall(struct.pack('<IB', len(body) + 1, 1) + body)
data = b''
while True:
    d = s.recv(4096)
    if not d: break
    data += d
sys.stdout.write(data.decode('latin1'))
`;

test('a caller of another uid is refused in one line; the server goes on serving', () => {
  ok(berth(root, ['list']), 'list');
  const pid = serverPid(root);
  const asNobody = () => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', berthBin, '--root', root, 'list'], { encoding: 'utf8' });
  chmodSync(dir, 0o755); // the test folder is 0700; the state root itself is open to all, as runc's
  try {
    const unreachable = asNobody();
    assert.is(unreachable.status, 1);
    assert.match(unreachable.stderr, /^berth: cannot reach the berth server at .*@server\/sock: Permission denied\n$/);
    // Past the folder's permissions, each side asks the kernel who is at the other end (SO_PEERCRED).
    chmodSync(join(root, '@server'), 0o755);
    chmodSync(join(root, '@server', 'sock'), 0o666);
    const client = asNobody();
    assert.is(client.status, 1);
    assert.match(client.stderr, /^berth: the berth server at .*@server\/sock runs as uid 0, not as uid 65534\n$/);
    const raw = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', rawCall, join(root, '@server', 'sock')], { encoding: 'latin1' });
    assert.match(raw.stdout, /berth: refused: the berth server of this root serves uid 0, not 65534\n/);
  } finally {
    chmodSync(join(root, '@server'), 0o700);
    if (existsSync(join(root, '@server', 'sock'))) chmodSync(join(root, '@server', 'sock'), 0o600);
    chmodSync(dir, 0o700);
  }
  assert.is(serverPid(root), pid);
  ok(berth(root, ['list']), 'list after');
});

test('first calls at once start one server', async () => {
  stopServer(root);
  const calls = await Promise.all(
    Array.from(
      { length: 4 },
      () =>
        new Promise<string>((resolve) => {
          const child = spawn(berthBin, ['--root', root, 'list'], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          child.stderr.on('data', (d) => (err += d));
          child.on('exit', (code) => resolve(`${code} ${err}`));
        }),
    ),
  );
  assert.equal(calls, ['0 ', '0 ', '0 ', '0 ']);
  assert.equal(serversOf(root), [serverPid(root)]);
});

test('an idle server exits; the next call starts another', () => {
  stopServer(root);
  const r = spawnSync(berthBin, ['--root', root, 'list'], { env: { ...process.env, BERTH_SERVER_IDLE: '1' } });
  assert.is(r.status, 0);
  const pid = serverPid(root);
  assert.ok(pid, 'started');
  assert.ok(waitUntil(() => !existsSync(`/proc/${pid}`), 5000), 'gone after a second idle');
  assert.not.ok(existsSync(join(root, '@server', 'sock')), 'its socket is gone');
  ok(berth(root, ['list']), 'list');
  assert.ok(serverPid(root));
});

test('a server making way (SIGTERM) with a long call under way lets the next server start at once; the call goes on to its end', async () => {
  ok(berth(root, ['list']), 'a warm server');
  const old = serverPid(root)!;
  const id = uniqueId('long');
  const fg = spawn(berthBin, ['--root', root, 'run', '--bundle', makeBundle(join(dir, id), rootfs, ['sleep', '30']), id], { stdio: 'ignore' });
  assert.ok(waitUntil(() => JSON.parse(berth(root, ['state', id]).stdout || '{}').status === 'running', 10_000), 'running in the foreground');
  process.kill(old, 'SIGTERM');
  assert.ok(waitUntil(() => serverPid(root) !== old, 2000), 'it stopped listening');
  const started = Date.now();
  ok(berth(root, ['list']), 'a call meanwhile');
  assert.ok(Date.now() - started < 3000, `served by a new server at once, not after the old one's lock wait (${Date.now() - started} ms)`);
  const fresh = serverPid(root);
  assert.ok(fresh && fresh !== old && existsSync(`/proc/${old}`), 'a new server, beside the old one finishing its call');
  const exited = new Promise<number | null>((resolve) => fg.once('exit', resolve));
  ok(berth(root, ['kill', id, 'KILL']), 'kill');
  assert.is(await exited, 137, "the foreground run ends with its container's status");
  assert.ok(waitUntil(() => !existsSync(`/proc/${old}`), 5000), 'and the old server exits then');
  assert.not.ok(existsSync(join(root, id)), 'run deleted it');
});

test('a watch whose caller has gone ends with it (the server then goes idle)', async () => {
  stopServer(root);
  const idle = { ...process.env, BERTH_SERVER_IDLE: '1' };
  const id = uniqueId('watched');
  assert.is(spawnSync(berthBin, ['--root', root, 'run', '-d', '--bundle', makeBundle(join(dir, id), rootfs, ['sleep', '30']), id], { env: idle, stdio: 'ignore' }).status, 0);
  const pid = serverPid(root);
  const events = spawn(berthBin, ['--root', root, 'events', '--interval', '100ms', id], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((r) => events.stdout.once('data', () => r()));
  events.kill('SIGKILL');
  assert.ok(waitUntil(() => !existsSync(`/proc/${pid}`), 5000), 'the server went idle and exited: the watch ended');
  ok(berth(root, ['delete', '--force', id]), 'delete');
  assertNothingLeft(root, id, dir);
});

/** Send BYTES on a connection of our own; what came back. */
function exchange(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(join(root, '@server', 'sock'), () => sock.end(bytes));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

test('garbage, truncated and unknown messages fail their call, not the server', async () => {
  ok(berth(root, ['list']), 'list');
  const pid = serverPid(root);
  const call = encodeClient.call({ version: PROTOCOL_VERSION, argv: ['list'], env: [], cwd: '/' });
  const unknown = Buffer.from([2, 0, 0, 0, 99, 0]);
  for (const [what, bytes] of [
    ['http', Buffer.from('GET / HTTP/1.0\r\n\r\n')],
    ['truncated', call.subarray(0, call.length - 3)],
    ['unknown type', unknown],
    ['empty', Buffer.alloc(0)],
    ['a reply first', encodeClient.reply(1, 0)],
  ] as const) {
    const answer = (await exchange(bytes)).toString('latin1');
    assert.match(answer, /berth: malformed message: /, `${what}: the call's error says so`);
  }
  assert.is(serverPid(root), pid, 'the same server');
  ok(berth(root, ['list']), 'list after');
});

if (isRoot) test.run();
else console.log('server: skipped (needs root)');
