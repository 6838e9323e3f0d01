// Reading CRIU's words: the reason for a failure is the first `Error (file:line): ...` line that
// is not one of the errors CRIU logs, and gets over, while it probes the kernel. Pure.

const ERROR_LINE = /^(?:\([\d.\s]+\)\s*)?Error \([^)]*\):\s*(.+)$/;

/** Errors CRIU logs while probing what the kernel and its own limits allow; they fail nothing. */
const probeNoise: readonly RegExp[] = [/^tun: Unable to create tun\b/, /^rlimit: Can't setup RLIMIT_NOFILE for self\b/];

/** The first real error in CRIU's log or output, without its source location; null when there is none. */
export function firstError(text: string): string | null {
  for (const line of text.split('\n')) {
    const reason = ERROR_LINE.exec(line.trim())?.[1]?.trim();
    if (reason && !probeNoise.some((n) => n.test(reason))) return reason;
  }
  return null;
}
