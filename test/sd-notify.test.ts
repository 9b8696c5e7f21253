// Readiness for systemd: sent through systemd-notify only when systemd gave a socket, and that socket
// is kept from every child skiff starts (containerd would otherwise say READY=1 for us).
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { systemdNotifier } from '../src/sd-notify.js';
import { tempDir } from './helpers/tmp.js';

/** A fake systemd-notify first on PATH, recording its arguments and socket; restores PATH and NOTIFY_SOCKET after. */
function fakeSystemdNotify(t: Test): string {
  const dir = tempDir(t);
  const record = path.join(dir, 'notified');
  fs.writeFileSync(path.join(dir, 'systemd-notify'), `#!/bin/sh\necho "$* $NOTIFY_SOCKET" > ${record}\n`, { mode: 0o755 });
  const saved = { PATH: process.env.PATH, NOTIFY_SOCKET: process.env.NOTIFY_SOCKET };
  process.env.PATH = `${dir}:${saved.PATH}`;
  t.teardown(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  return record;
}

t.test('with NOTIFY_SOCKET: taken from the environment, then READY sent to it', async (t) => {
  const record = fakeSystemdNotify(t);
  process.env.NOTIFY_SOCKET = '/run/systemd/notify';
  const notifyReady = systemdNotifier();
  t.equal(process.env.NOTIFY_SOCKET, undefined, 'children do not inherit the socket');
  t.notOk(fs.existsSync(record), 'nothing sent before ready');
  await notifyReady();
  t.equal(fs.readFileSync(record, 'utf8'), '--ready /run/systemd/notify\n');
});

t.test('without NOTIFY_SOCKET nothing is sent', async (t) => {
  const record = fakeSystemdNotify(t);
  delete process.env.NOTIFY_SOCKET;
  await systemdNotifier()();
  t.notOk(fs.existsSync(record));
});
