// berth's log: text or JSON lines (the format containerd reads from `--log FILE --log-format json`),
// to a file or to stderr. Plain objects, so a worker can rebuild the same logger from its options.
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogOptions {
  /** A file to append to; stderr when absent. */
  file?: string;
  format?: 'text' | 'json';
  debug?: boolean;
  /** Where stderr lines go instead of this process's stderr (the server: the CLI call's). */
  stderr?: (text: string) => void;
}

export interface Logger {
  readonly options: LogOptions;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

function line(level: Level, msg: string, format: 'text' | 'json'): string {
  const time = new Date().toISOString();
  if (format === 'json') return JSON.stringify({ level, msg, time }) + '\n';
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

export function createLogger(options: LogOptions = {}): Logger {
  const write = (level: Level, msg: string) => {
    if (level === 'debug' && !options.debug) return;
    const text = line(level, msg, options.format ?? 'text');
    if (options.file) appendFileSync(options.file, text);
    // Without a log file only warnings and worse reach stderr: the CLI prints errors itself.
    else if (level === 'warn' || options.debug) (options.stderr ?? ((t) => process.stderr.write(t)))(text);
  };
  return {
    options,
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
