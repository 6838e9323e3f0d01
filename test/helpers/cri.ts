// A small client of the Kubernetes CRI (runtime.v1) for the tests: the kubelet's calls to a
// container runtime's gRPC socket, made with @grpc/grpc-js and berth's own protobuf codec. The
// messages are the part of the published API definition (cri-api, pkg/apis/runtime/v1) the tests
// use, written here as schemas: field names and numbers as published, the rest left out.
import * as grpc from '@grpc/grpc-js';
import { decode, encode, type Decoded, type Field, type Schema } from '../../native/protobuf.js';

const str = (number: number, repeated = false): Field => ({ number, type: 'string', repeated });
const i64 = (number: number): Field => ({ number, type: 'int64' });
const i32 = (number: number): Field => ({ number, type: 'int32' });
const bool = (number: number): Field => ({ number, type: 'bool' });
const msg = (number: number, type: Schema, repeated = false): Field => ({ number, type, repeated });
/** A map<string, string>: repeated entries of key = 1, value = 2 (see mapOf). */
const stringMap = (number: number): Field => msg(number, { key: str(1), value: str(2) }, true);

/** NamespaceMode */
export const Mode = { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 } as const;
/** ContainerState */
export const ContainerState = { CREATED: 0, RUNNING: 1, EXITED: 2, UNKNOWN: 3 } as const;

const NamespaceOption: Schema = { network: i32(1), pid: i32(2), ipc: i32(3), targetId: str(4) };
const PodSandboxMetadata: Schema = { name: str(1), uid: str(2), namespace: str(3), attempt: { number: 4, type: 'uint32' } };
const Int64Value: Schema = { value: i64(1) };
const PodSandboxConfig: Schema = {
  metadata: msg(1, PodSandboxMetadata),
  hostname: str(2),
  logDirectory: str(3),
  labels: stringMap(6),
  linux: msg(8, { cgroupParent: str(1), securityContext: msg(2, { namespaceOptions: msg(1, NamespaceOption), privileged: bool(6) }), sysctls: stringMap(3) }),
};
const LinuxContainerSecurityContext: Schema = {
  capabilities: msg(1, { addCapabilities: str(1, true), dropCapabilities: str(2, true) }),
  privileged: bool(2),
  namespaceOptions: msg(3, NamespaceOption),
  runAsUser: msg(5, Int64Value),
  readonlyRootfs: bool(7),
  supplementalGroups: { number: 8, type: 'int64', repeated: true },
  noNewPrivs: bool(11),
  runAsGroup: msg(12, Int64Value),
  seccomp: msg(15, { profileType: i32(1), localhostRef: str(2) }),
};
const ImageSpec: Schema = { image: str(1) };
const LinuxContainerResources: Schema = { cpuPeriod: i64(1), cpuQuota: i64(2), cpuShares: i64(3), memoryLimitInBytes: i64(4), oomScoreAdj: i64(5) };
const ContainerConfig: Schema = {
  metadata: msg(1, { name: str(1), attempt: { number: 2, type: 'uint32' } }),
  image: msg(2, ImageSpec),
  command: str(3, true),
  args: str(4, true),
  envs: msg(6, { key: str(1), value: str(2) }, true),
  mounts: msg(7, { containerPath: str(1), hostPath: str(2), readonly: bool(3) }, true),
  labels: stringMap(9),
  logPath: str(11),
  tty: bool(14),
  linux: msg(15, { resources: msg(1, LinuxContainerResources), securityContext: msg(2, LinuxContainerSecurityContext) }),
};
const ContainerStatus: Schema = { id: str(1), state: i32(3), createdAt: i64(4), startedAt: i64(5), finishedAt: i64(6), exitCode: i32(7), reason: str(10), message: str(11), logPath: str(15) };
const UInt64Value: Schema = { value: { number: 1, type: 'uint64' } };
const empty: Schema = {};
const containerId: Schema = { containerId: str(1) };
const sandboxId: Schema = { podSandboxId: str(1) };

/** Each call: its service, and its request and response schemas. */
const calls = {
  Version: ['RuntimeService', { version: str(1) }, { version: str(1), runtimeName: str(2), runtimeVersion: str(3), runtimeApiVersion: str(4) }],
  RunPodSandbox: ['RuntimeService', { config: msg(1, PodSandboxConfig), runtimeHandler: str(2) }, sandboxId],
  PodSandboxStatus: ['RuntimeService', sandboxId, { status: msg(1, { id: str(1), state: i32(3) }) }],
  StopPodSandbox: ['RuntimeService', sandboxId, empty],
  RemovePodSandbox: ['RuntimeService', sandboxId, empty],
  CreateContainer: ['RuntimeService', { podSandboxId: str(1), config: msg(2, ContainerConfig), sandboxConfig: msg(3, PodSandboxConfig) }, containerId],
  StartContainer: ['RuntimeService', containerId, empty],
  StopContainer: ['RuntimeService', { containerId: str(1), timeout: i64(2) }, empty],
  RemoveContainer: ['RuntimeService', containerId, empty],
  ContainerStatus: ['RuntimeService', containerId, { status: msg(1, ContainerStatus) }],
  ListContainers: ['RuntimeService', { filter: msg(1, { podSandboxId: str(3) }) }, { containers: msg(1, { id: str(1), podSandboxId: str(2), state: i32(6) }, true) }],
  ExecSync: ['RuntimeService', { containerId: str(1), cmd: str(2, true), timeout: i64(3) }, { stdout: { number: 1, type: 'bytes' }, stderr: { number: 2, type: 'bytes' }, exitCode: i32(3) }],
  Exec: ['RuntimeService', { containerId: str(1), cmd: str(2, true), tty: bool(3), stdin: bool(4), stdout: bool(5), stderr: bool(6) }, { url: str(1) }],
  Attach: ['RuntimeService', { containerId: str(1), stdin: bool(2), tty: bool(3), stdout: bool(4), stderr: bool(5) }, { url: str(1) }],
  // (repeated scalars are sent unpacked: proto3 readers take both)
  PortForward: ['RuntimeService', { podSandboxId: str(1), port: { number: 2, type: 'int32', repeated: true } }, { url: str(1) }],
  UpdateContainerResources: ['RuntimeService', { containerId: str(1), linux: msg(2, LinuxContainerResources) }, empty],
  ContainerStats: ['RuntimeService', containerId, { stats: msg(1, { memory: msg(3, { workingSetBytes: msg(2, UInt64Value) }), cpu: msg(2, { usageCoreNanoSeconds: msg(2, UInt64Value) }) }) }],
  ImageStatus: ['ImageService', { image: msg(1, ImageSpec) }, { image: msg(1, { id: str(1), repoTags: str(2, true) }) }],
} as const satisfies Record<string, readonly [string, Schema, Schema]>;

/** A map<string, string> value as the wire wants it. */
export const mapOf = (o: Record<string, string>) => Object.entries(o).map(([key, value]) => ({ key, value }));

export class CriClient {
  private readonly client: grpc.Client;

  constructor(socket: string) {
    this.client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  /** One unary call; rejects with the gRPC status's details. */
  call(method: keyof typeof calls, request: Decoded, timeoutMs = 60_000): Promise<Decoded> {
    const [service, req, res] = calls[method];
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        `/runtime.v1.${service}/${method}`,
        (m: Decoded) => encode(req, m),
        (b: Buffer) => decode(res, b),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, out) => (err ? reject(new Error(`${method}: ${err.details || err.message}`)) : resolve(out!)),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}
