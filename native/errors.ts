// Typed errors for everything that reaches the kernel. No koffi here: the CLI's light paths use it too.
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

/** `ENOENT` for 2. */
export function errnoName(errno: number): string {
  return systemErrors.get(-Math.abs(errno))?.[0] ?? `errno ${errno}`;
}

/** `no such file or directory` for 2. */
export function errnoText(errno: number): string {
  return systemErrors.get(-Math.abs(errno))?.[1] ?? 'unknown error';
}

/** A failed system call: names the call, what it acted on, and the errno. */
export class SyscallError extends Error {
  readonly code: string;
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly path?: string,
  ) {
    super(`${call}${path ? ` ${path}` : ''}: ${errnoName(errno)} (${errnoText(errno)})`);
    this.name = 'SyscallError';
    this.code = errnoName(errno);
  }
}

/** An error the user can act on: bad input or an operation refused in the container's state. */
export class BerthError extends Error {
  constructor(
    message: string,
    readonly kind: 'invalid' | 'not-found' | 'exists' | 'state' | 'failed' = 'failed',
  ) {
    super(message);
    this.name = 'BerthError';
  }
}

/** Node's fs errors carry `code`; this narrows to them. */
export function isErrno(e: unknown, ...codes: string[]): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && codes.includes((e as NodeJS.ErrnoException).code!);
}
