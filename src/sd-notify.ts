// Readiness for systemd's Type=notify units (sd_notify(3)), as K3s does it. The notification socket is
// taken out of the environment at start, so that no child speaks for us (containerd would send its
// own READY=1 as soon as it runs). Node has no unix datagram sockets, so readiness is sent by systemd's
// own systemd-notify, from its own PID: the unit needs NotifyAccess=all.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { log } from './log.js';

/** Takes NOTIFY_SOCKET from the environment; the function returned tells systemd that we are ready. */
export function systemdNotifier(): () => Promise<void> {
  const socket = process.env.NOTIFY_SOCKET;
  delete process.env.NOTIFY_SOCKET;
  return async () => {
    if (!socket) return;
    try {
      await promisify(execFile)('systemd-notify', ['--ready'], { env: { ...process.env, NOTIFY_SOCKET: socket } });
    } catch (err) {
      log.warn({ err }, 'cannot tell systemd that skiff is ready (systemd-notify failed)');
    }
  };
}
