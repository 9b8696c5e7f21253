// One structured logger for the whole program (pino). JSON lines for journald and log collectors,
// human-readable lines (pino-pretty) for a person at a terminal. pino-pretty runs as a synchronous
// stream in this thread, not as a pino transport: transports run in worker threads, which the bundled
// single executable cannot start.
import pino from 'pino';

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const json = pino.destination({ fd: 2, sync: true });
// The logger is created once, at import, and handed around; the format is chosen later, from the flags.
let out: { write(line: string): void } = json;

export const log = pino({ level: 'info', base: { pid: process.pid } }, { write: (line: string) => out.write(line) });

export async function configureLog(o: { debug: boolean; format: LogFormat }): Promise<void> {
  log.level = o.debug ? 'debug' : 'info';
  if (o.format === 'json') out = json;
  else {
    // Loaded only when asked for: commands that log nothing (skiff version) start faster without it.
    const { default: pretty } = await import('pino-pretty');
    out = pretty({
      destination: 2,
      sync: true,
      colorize: process.stderr.isTTY === true,
      singleLine: true,
      translateTime: 'SYS:standard',
      ignore: 'pid',
    });
  }
}
