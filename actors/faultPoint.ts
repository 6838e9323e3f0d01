// Addressable points of the operations where a test can have berth die: BERTH_DIE_AT=<point> (for
// instance `create.cgroup`) makes the process SIGKILL itself there, the worst a crash can do at that
// moment. Read once, at load; unset, a point is one comparison. The tests name every point
// (faultPoints) and check that, killed at each, state tells the truth and delete -f leaves nothing.
const dieAt = process.env.BERTH_DIE_AT;

/** Every point, in the order of the lifecycle. */
export const faultPoints = [
  'create.recorded', // the first state.json (creating) is written
  'create.cgroup', // the cgroup is made, with its limits
  'create.pid', // berth-init reported the container process's pid
  'create.ready', // the process waits for start, not yet recorded as created
  'create.recorded-created', // recorded created, pid file not yet written
  'start.hooks', // startContainer hooks done, the process not yet released
  'start.released', // released, not yet recorded as running
  'exec.started', // the exec'd process runs, its pid not yet reported
  'pause.frozen', // frozen, not yet recorded as paused
  'resume.thawed', // thawed, not yet recorded as running
  'checkpoint.dumped', // CRIU dumped the container (its processes gone unless --leave-running), not yet recorded
  'restore.restored', // CRIU restored the process, not yet recorded as created
  'teardown.ended', // delete's (or a failed create's undo): the processes ended, cgroup and folder still there
  'teardown.cgroup', // the cgroup removed, the folder still there
] as const;
export type FaultPoint = (typeof faultPoints)[number];

export function faultPoint(point: FaultPoint): void {
  if (dieAt === point) process.kill(process.pid, 'SIGKILL');
}
