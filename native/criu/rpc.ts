// CRIU's RPC messages (criu_req, criu_resp, criu_opts, from CRIU's documented images/rpc.proto),
// only the fields berth uses, as schemas for protobuf.ts. Field names are camelCase here; the
// numbers are the .proto's. Pure.
import { decode, encode, type Schema } from '../protobuf.js';

/** criu_req_type */
export const RequestType = { DUMP: 1, RESTORE: 2, PRE_DUMP: 4, NOTIFY: 6 } as const;
export type RequestTypeName = keyof typeof RequestType;

/** criu_cg_mode, by the names of runc's --manage-cgroups-mode. */
export const CgroupMode = { ignore: 0, soft: 3, full: 4, strict: 5 } as const;
export type CgroupModeName = keyof typeof CgroupMode;

export interface InheritFd {
  key: string;
  fd: number;
}

export interface CgroupRoot {
  /** v1: the hierarchy's controllers (`cpu`, `name=systemd`); absent on cgroup v2. */
  ctrl?: string;
  path: string;
}

export interface JoinNamespace {
  ns: string;
  nsFile: string;
}

/** criu_opts, the fields berth sets. */
export interface CriuOpts {
  imagesDirFd: number;
  pid?: number;
  leaveRunning?: boolean;
  extUnixSk?: boolean;
  tcpEstablished?: boolean;
  evasiveDevices?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  logLevel?: number;
  logFile?: string;
  notifyScripts?: boolean;
  root?: string;
  parentImg?: string;
  trackMem?: boolean;
  workDirFd?: number;
  manageCgroups?: boolean;
  cgRoot?: CgroupRoot[];
  rstSibling?: boolean;
  inheritFd?: InheritFd[];
  manageCgroupsMode?: number;
  external?: string[];
  emptyNs?: number;
  joinNs?: JoinNamespace[];
  cgroupDumpController?: string[];
  freezeCgroup?: string;
  orphanPtsMaster?: boolean;
}

const inheritFd: Schema = { key: { number: 1, type: 'string' }, fd: { number: 2, type: 'int32' } };
const cgroupRoot: Schema = { ctrl: { number: 1, type: 'string' }, path: { number: 2, type: 'string' } };
const joinNamespace: Schema = { ns: { number: 1, type: 'string' }, nsFile: { number: 2, type: 'string' } };

const criuOpts: Schema = {
  imagesDirFd: { number: 1, type: 'int32' },
  pid: { number: 2, type: 'int32' },
  leaveRunning: { number: 3, type: 'bool' },
  extUnixSk: { number: 4, type: 'bool' },
  tcpEstablished: { number: 5, type: 'bool' },
  evasiveDevices: { number: 6, type: 'bool' },
  shellJob: { number: 7, type: 'bool' },
  fileLocks: { number: 8, type: 'bool' },
  logLevel: { number: 9, type: 'int32' },
  logFile: { number: 10, type: 'string' },
  notifyScripts: { number: 12, type: 'bool' },
  root: { number: 13, type: 'string' },
  parentImg: { number: 14, type: 'string' },
  trackMem: { number: 15, type: 'bool' },
  workDirFd: { number: 17, type: 'int32' },
  manageCgroups: { number: 24, type: 'bool' },
  cgRoot: { number: 25, type: cgroupRoot, repeated: true },
  rstSibling: { number: 26, type: 'bool' },
  inheritFd: { number: 27, type: inheritFd, repeated: true },
  manageCgroupsMode: { number: 34, type: 'int32' },
  external: { number: 37, type: 'string', repeated: true },
  emptyNs: { number: 38, type: 'uint32' },
  joinNs: { number: 39, type: joinNamespace, repeated: true },
  cgroupDumpController: { number: 43, type: 'string', repeated: true },
  freezeCgroup: { number: 44, type: 'string' },
  orphanPtsMaster: { number: 50, type: 'bool' },
};

const criuReq: Schema = {
  type: { number: 1, type: 'int32' },
  opts: { number: 2, type: criuOpts },
  notifySuccess: { number: 3, type: 'bool' },
};

const criuResp: Schema = {
  type: { number: 1, type: 'int32' },
  success: { number: 2, type: 'bool' },
  restore: { number: 4, type: { pid: { number: 1, type: 'int32' } } },
  notify: { number: 5, type: { script: { number: 1, type: 'string' }, pid: { number: 2, type: 'int32' } } },
  crErrno: { number: 7, type: 'int32' },
  crErrmsg: { number: 9, type: 'string' },
};

export interface CriuResponse {
  type: number;
  success: boolean;
  restore?: { pid: number };
  notify?: { script?: string; pid?: number };
  crErrno?: number;
  crErrmsg?: string;
}

export function encodeRequest(type: RequestTypeName, opts: CriuOpts): Buffer {
  return encode(criuReq, { type: RequestType[type], opts: opts as unknown as Record<string, unknown> });
}

/** The answer to a notification: go on. */
export function encodeNotifyAck(): Buffer {
  return encode(criuReq, { type: RequestType.NOTIFY, notifySuccess: true });
}

export function decodeResponse(buf: Buffer): CriuResponse {
  return decode(criuResp, buf) as unknown as CriuResponse;
}
