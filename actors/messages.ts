// The message API: what the CLI sends and what a Node program sends are the same objects.
import type { Status } from '../machines/container.js';
import type { Config } from '../native/spec/config.js';
import type { Features } from '../native/spec/features.js';
import type { OciState } from './stateStore.js';

/** The container's stdin, stdout, stderr: fds of this process, or 'inherit' (this process's own), or 'ignore'. */
export type Stdio = 'inherit' | 'ignore' | [number | 'ignore', number | 'ignore', number | 'ignore'];

export interface CreateOptions {
  id: string;
  /** The bundle folder; the current directory when absent. */
  bundle?: string;
  pidFile?: string;
  stdio?: Stdio;
  /** Hand fds 3..3+N-1 of this process to the container at the same numbers. */
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  consoleSocket?: string;
}

export type Message =
  | ({ type: 'create' } & CreateOptions)
  | { type: 'start'; id: string }
  | { type: 'state'; id: string }
  | { type: 'kill'; id: string; signal?: string | number; all?: boolean }
  | { type: 'delete'; id: string; force?: boolean }
  | ({ type: 'run'; detach?: boolean } & CreateOptions)
  | { type: 'wait'; id: string }
  | { type: 'list' }
  /** Compile the create without doing it: the exact plan berth-init would execute. */
  | ({ type: 'plan' } & CreateOptions)
  /** The lifecycle statechart, as text. */
  | { type: 'statechart' }
  | { type: 'spec' }
  | { type: 'features' };

export interface ProcessExit {
  id: string;
  pid: number;
  /** Exit status if the process exited, else null. */
  exitCode: number | null;
  /** The signal that killed it, else null. */
  signal: number | null;
}

export interface Results {
  create: { id: string; pid: number };
  start: { id: string; pid: number };
  state: OciState;
  kill: { id: string };
  delete: { id: string };
  /** With `detach`, exit is null: the container goes on running. */
  run: { id: string; pid: number; exit: ProcessExit | null };
  wait: ProcessExit;
  list: OciState[];
  plan: { id: string; stateDir: string; cgroupDirs: string[]; steps: { op: string; what: string; args: string[] }[] };
  statechart: string;
  spec: Config;
  features: Features;
}

export type ResultOf<M extends Message> = Results[M['type']];

export type RuntimeEvent =
  | { type: 'state'; id: string; status: Status | 'deleted'; pid: number }
  | ({ type: 'exit' } & ProcessExit);
