// config.json → Config, or one error that names the config path of the first thing wrong.
import { BerthError } from '../errors.js';
import { namespaceTypes, type Config, type Device, type IdMapping, type Mount, type Namespace, type Process, type Seccomp, type SeccompSyscall } from './config.js';

/** `linux.namespaces[2].type: unknown namespace "foo"` */
export class ConfigError extends BerthError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`, 'invalid');
    this.name = 'ConfigError';
  }
}

type Obj = Record<string, unknown>;

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

function object(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, `must be an object, not ${describe(v)}`);
  return v as Obj;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(path, `must be an array, not ${describe(v)}`);
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new ConfigError(path, `must be a string, not ${describe(v)}`);
  return v;
}

function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(path, `must be a boolean, not ${describe(v)}`);
  return v;
}

function integer(v: unknown, path: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(path, `must be an integer, not ${describe(v)}`);
  if (v < min || v > max) throw new ConfigError(path, `${v} is out of range (${min}..${max})`);
  return v;
}

const UINT32 = 0xffffffff;

/** `linux` + `namespaces` → `linux.namespaces`; top-level keys (path '') stand alone. */
const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

function optional<T>(o: Obj, key: string, path: string, check: (v: unknown, p: string) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o[key], at(path, key));
}

function required<T>(o: Obj, key: string, path: string, check: (v: unknown, p: string) => T): T {
  if (o[key] === undefined) throw new ConfigError(at(path, key), 'is required');
  return check(o[key], at(path, key));
}

function absolutePath(v: unknown, path: string): string {
  const s = string(v, path);
  if (!s.startsWith('/')) throw new ConfigError(path, `must be an absolute path, not "${s}"`);
  return s;
}

function stringArray(v: unknown, path: string): string[] {
  return array(v, path).map((x, i) => string(x, `${path}[${i}]`));
}

function stringMap(v: unknown, path: string): Record<string, string> {
  const o = object(v, path);
  for (const [k, x] of Object.entries(o)) string(x, `${path}.${k}`);
  return o as Record<string, string>;
}

function parseProcess(v: unknown): Process {
  const p = object(v, 'process');
  const user = required(p, 'user', 'process', object);
  const args = required(p, 'args', 'process', stringArray);
  if (args.length === 0) throw new ConfigError('process.args', 'must name a program');
  const env = optional(p, 'env', 'process', stringArray) ?? [];
  env.forEach((e, i) => {
    if (!e.includes('=')) throw new ConfigError(`process.env[${i}]`, `"${e}" is not KEY=VALUE`);
  });
  const capabilities = optional(p, 'capabilities', 'process', object);
  if (capabilities) for (const [k, x] of Object.entries(capabilities)) stringArray(x, `process.capabilities.${k}`);
  return {
    terminal: optional(p, 'terminal', 'process', boolean) ?? false,
    user: {
      uid: required(user, 'uid', 'process.user', (x, q) => integer(x, q, 0, UINT32)),
      gid: required(user, 'gid', 'process.user', (x, q) => integer(x, q, 0, UINT32)),
      umask: optional(user, 'umask', 'process.user', (x, q) => integer(x, q, 0, 0o7777)),
      additionalGids: optional(user, 'additionalGids', 'process.user', (x, q) =>
        array(x, q).map((g, i) => integer(g, `${q}[${i}]`, 0, UINT32)),
      ),
    },
    args,
    env,
    cwd: required(p, 'cwd', 'process', absolutePath),
    capabilities: capabilities as Record<string, string[]> | undefined,
    rlimits: optional(p, 'rlimits', 'process', (x, q) =>
      array(x, q).map((r, i) => {
        const o = object(r, `${q}[${i}]`);
        const limit = (k: string) => required(o, k, `${q}[${i}]`, (y, w) => integer(y, w, 0));
        return { type: required(o, 'type', `${q}[${i}]`, string), soft: limit('soft'), hard: limit('hard') };
      }),
    ),
    noNewPrivileges: optional(p, 'noNewPrivileges', 'process', boolean),
    oomScoreAdj: optional(p, 'oomScoreAdj', 'process', (x, q) => integer(x, q, -1000, 1000)),
    apparmorProfile: optional(p, 'apparmorProfile', 'process', string),
    selinuxLabel: optional(p, 'selinuxLabel', 'process', string),
    consoleSize: optional(p, 'consoleSize', 'process', (x, q) => {
      const o = object(x, q);
      return { height: required(o, 'height', q, (y, r) => integer(y, r, 0, 65535)), width: required(o, 'width', q, (y, r) => integer(y, r, 0, 65535)) };
    }),
  };
}

function parseMount(v: unknown, path: string): Mount {
  const m = object(v, path);
  return {
    destination: required(m, 'destination', path, absolutePath),
    type: optional(m, 'type', path, string),
    source: optional(m, 'source', path, string),
    options: optional(m, 'options', path, stringArray) ?? [],
  };
}

function parseNamespace(v: unknown, path: string): Namespace {
  const n = object(v, path);
  const type = required(n, 'type', path, string);
  if (!(namespaceTypes as readonly string[]).includes(type)) throw new ConfigError(`${path}.type`, `unknown namespace "${type}"`);
  return { type: type as Namespace['type'], path: optional(n, 'path', path, absolutePath) };
}

function parseDevice(v: unknown, path: string): Device {
  const d = object(v, path);
  const type = required(d, 'type', path, string);
  if (!['c', 'b', 'u', 'p'].includes(type)) throw new ConfigError(`${path}.type`, `unknown device type "${type}" (c, b, u or p)`);
  const needsNumbers = type !== 'p';
  const num = (k: string) => (needsNumbers ? required(d, k, path, (x, q) => integer(x, q, 0, UINT32)) : optional(d, k, path, (x, q) => integer(x, q, 0, UINT32)) ?? 0);
  return {
    type: type as Device['type'],
    path: required(d, 'path', path, absolutePath),
    major: num('major'),
    minor: num('minor'),
    fileMode: optional(d, 'fileMode', path, (x, q) => integer(x, q, 0, 0o7777)),
    uid: optional(d, 'uid', path, (x, q) => integer(x, q, 0, UINT32)),
    gid: optional(d, 'gid', path, (x, q) => integer(x, q, 0, UINT32)),
  };
}

function idMappings(v: unknown, path: string): IdMapping[] {
  return array(v, path).map((m, i) => {
    const o = object(m, `${path}[${i}]`);
    const id = (k: string, min: number) => required(o, k, `${path}[${i}]`, (x, q) => integer(x, q, min, UINT32));
    return { containerID: id('containerID', 0), hostID: id('hostID', 0), size: id('size', 1) };
  });
}

/** Unsigned 64 bits; JSON numbers past 2^53 arrive rounded, so 2^64 itself stands for 2^64-1. */
const uint64 = (v: unknown, path: string) => integer(v, path, 0, 2 ** 64);

/** errnoRet is carried in the 16 data bits of a seccomp return value. */
const seccompData = (v: unknown, path: string) => integer(v, path, 0, 0xffff);

function parseSeccompSyscall(v: unknown, path: string): SeccompSyscall {
  const s = object(v, path);
  const names = required(s, 'names', path, stringArray);
  if (names.length === 0) throw new ConfigError(`${path}.names`, 'must name at least one syscall');
  return {
    names,
    action: required(s, 'action', path, string),
    errnoRet: optional(s, 'errnoRet', path, seccompData),
    args: (optional(s, 'args', path, array) ?? []).map((a, i) => {
      const q = `${path}.args[${i}]`;
      const o = object(a, q);
      return {
        // Syscalls have six arguments.
        index: required(o, 'index', q, (x, r) => integer(x, r, 0, 5)),
        value: required(o, 'value', q, uint64),
        valueTwo: optional(o, 'valueTwo', q, uint64) ?? 0,
        op: required(o, 'op', q, string),
      };
    }),
  };
}

function parseSeccomp(v: unknown, path: string): Seccomp {
  const s = object(v, path);
  return {
    defaultAction: required(s, 'defaultAction', path, string),
    defaultErrnoRet: optional(s, 'defaultErrnoRet', path, seccompData),
    architectures: optional(s, 'architectures', path, stringArray) ?? [],
    flags: optional(s, 'flags', path, stringArray) ?? [],
    listenerPath: optional(s, 'listenerPath', path, string),
    syscalls: (optional(s, 'syscalls', path, array) ?? []).map((x, i) => parseSeccompSyscall(x, `${path}.syscalls[${i}]`)),
  };
}

const propagations = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'];

/** Parse and check config.json's content. Throws ConfigError naming the first bad path. */
export function parseConfig(raw: unknown): Config {
  const c = object(raw, 'config.json');
  const root = required(c, 'root', '', object);
  const linux = optional(c, 'linux', '', object) ?? {};
  const namespaces = (optional(linux, 'namespaces', 'linux', array) ?? []).map((n, i) => parseNamespace(n, `linux.namespaces[${i}]`));
  const seen = new Map<string, number>();
  namespaces.forEach((n, i) => {
    if (seen.has(n.type)) throw new ConfigError(`linux.namespaces[${i}].type`, `namespace "${n.type}" is listed twice (also at [${seen.get(n.type)}])`);
    seen.set(n.type, i);
  });
  const rootfsPropagation = optional(linux, 'rootfsPropagation', 'linux', string);
  if (rootfsPropagation !== undefined && !propagations.includes(rootfsPropagation))
    throw new ConfigError('linux.rootfsPropagation', `unknown propagation "${rootfsPropagation}" (${propagations.join(', ')})`);
  return {
    ociVersion: required(c, 'ociVersion', '', string),
    root: {
      path: required(root, 'path', 'root', string),
      readonly: optional(root, 'readonly', 'root', boolean) ?? false,
    },
    process: parseProcess(required(c, 'process', '', (x) => x)),
    hostname: optional(c, 'hostname', '', string),
    domainname: optional(c, 'domainname', '', string),
    mounts: (optional(c, 'mounts', '', array) ?? []).map((m, i) => parseMount(m, `mounts[${i}]`)),
    linux: {
      namespaces,
      devices: (optional(linux, 'devices', 'linux', array) ?? []).map((d, i) => parseDevice(d, `linux.devices[${i}]`)),
      cgroupsPath: optional(linux, 'cgroupsPath', 'linux', string),
      rootfsPropagation,
      resources: optional(linux, 'resources', 'linux', object),
      maskedPaths: optional(linux, 'maskedPaths', 'linux', stringArray),
      readonlyPaths: optional(linux, 'readonlyPaths', 'linux', stringArray),
      sysctl: optional(linux, 'sysctl', 'linux', stringMap),
      seccomp: optional(linux, 'seccomp', 'linux', parseSeccomp),
      uidMappings: optional(linux, 'uidMappings', 'linux', idMappings),
      gidMappings: optional(linux, 'gidMappings', 'linux', idMappings),
      mountLabel: optional(linux, 'mountLabel', 'linux', string),
    },
    hooks: optional(c, 'hooks', '', object),
    annotations: optional(c, 'annotations', '', stringMap) ?? {},
  };
}
