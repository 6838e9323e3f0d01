// The process whose children berth's processes become. runc's container and exec'd processes are
// children of the runc call's caller tree (conmon, containerd's shim wait for them as subreapers),
// so berth spawns through a parent: this process itself (the API, `--no-server`), or the process of
// a CLI call that the server handles, which spawns on the server's behalf (actors/server).
import { spawnProcess } from './spawn.js';
import { waitChild, type ChildExit } from './syscalls.js';

export interface ProcessParent {
  /**
   * Spawn PATH with ARGV and exactly ENV, in a session of its own. FDS[i] becomes the child's fd i:
   * an fd of this process, or 'ignore' for /dev/null. Resolves with its pid.
   */
  spawn(path: string, argv: string[], env: string[], fds: (number | 'ignore')[]): Promise<number>;
  /**
   * Resolves with the exit of PID, a child of this parent, once reaped. This process blocks for it,
   * so here it is only for a child that has ended or is ending now; a caller's process waits without
   * blocking anyone, so there it is for any wait.
   */
  reap(pid: number): Promise<ChildExit>;
  /** True when waits for long-lived children go through reap() (false: this process's reaper takes them). */
  readonly remote: boolean;
  /** Aborted when the parent is gone (a CLI call's process ended): what only it waited for may stop. */
  readonly gone?: AbortSignal;
}

export const thisProcess: ProcessParent = {
  spawn: async (path, argv, env, fds) => spawnProcess(path, argv, env, fds),
  reap: async (pid) => waitChild(pid),
  remote: false,
};
