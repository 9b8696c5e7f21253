// Container log rotation, as the kubelet's: a running container's log file past the maximum size
// is renamed with a timestamp, containerd is told to reopen it, and only the newest files are kept.
// Without it a chatty container fills the disk (and wears an SD card) without end.
import fs from 'node:fs';
import path from 'node:path';
import type { CriClient } from '../../cri/client.js';
import { log } from '../../log.js';

export interface RunningLog {
  containerId: string;
  logPath: string;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** The files a log was rotated into, oldest first (their time stamps sort as their names). */
export function rotatedFiles(logPath: string): string[] {
  const dir = path.dirname(logPath);
  const prefix = `${path.basename(logPath)}.`;
  const names = fs.readdirSync(dir).filter((f) => f.startsWith(prefix));
  return names.sort().map((f) => path.join(dir, f));
}

/** Rotates the logs that grew past `maxSize` bytes, keeping `maxFiles` files per container. */
export async function rotateLogs(
  cri: Pick<CriClient, 'call'>,
  logs: RunningLog[],
  maxSize: number,
  maxFiles: number,
  now = new Date(),
): Promise<void> {
  for (const { containerId, logPath } of logs) {
    const size = fs.statSync(logPath, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= maxSize) continue;
    const rotated = `${logPath}.${stamp(now)}`;
    fs.renameSync(logPath, rotated);
    try {
      await cri.call('RuntimeService', 'ReopenContainerLog', { containerId });
    } catch (err) {
      // containerd still writes to the renamed file: give it its name back.
      fs.renameSync(rotated, logPath);
      log.warn({ containerId, err: (err as Error).message }, 'cannot rotate container log');
      continue;
    }
    const old = rotatedFiles(logPath).reverse();
    for (const f of old.slice(maxFiles - 1)) fs.rmSync(f, { force: true });
  }
}
