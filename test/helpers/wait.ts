// Waiting in synchronous tests: poll a condition with short sleeps.
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}

/** Poll COND every 20 ms until it holds or TIMEOUT_MS passes; returns whether it held. */
export function waitUntil(cond: () => boolean, timeoutMs = 3000): boolean {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    sleepSync(20);
  }
  return true;
}
