// One structured logger for the whole program (pino: fast, JSON lines, no worker threads needed).
import pino from 'pino';

export const log = pino({ level: 'info', base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));

export function setDebug(on: boolean): void {
  log.level = on ? 'debug' : 'info';
}
