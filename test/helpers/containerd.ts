// What the tests' private containerds leave to clean up.
import { readdirSync, readFileSync } from 'node:fs';

/** The runc shims a containerd at SOCKET started: found by the address they were given, to be stopped by pid. */
export function shimsOf(socket: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(socket);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}
