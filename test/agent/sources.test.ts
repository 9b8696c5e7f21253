// The kubelet's sources with the API in-process, and then away: what was read is kept in the
// checkpoint and served from there while no server answers; the API's own answers win over it.
import t from 'tap';
import { admin, apiHarness } from '../apiserver/harness.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { configMaps, secrets, services } from '../../src/client/resources.js';
import { Checkpoint } from '../../src/agent/pods/checkpoint.js';
import { ApiSources } from '../../src/agent/pods/sources.js';
import type { P } from '../../src/agent/pods/labels.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

const pod: P = {
  metadata: { name: 'app', namespace: 'default', uid: 'u1' },
  spec: {
    containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' } }] }],
  },
};

t.test('served from the checkpoint while the API cannot be reached, and after a restart', async (t) => {
  const h = await apiHarness(t);
  const inner = inProcessTransport(h.app, admin);
  let down = false;
  let calls = 0;
  const flaky: Transport = (method, path, init) => {
    calls++;
    return down ? Promise.reject(new Error('no API server answered')) : inner(method, path, init);
  };
  const api = new ApiClient(flaky);
  await api.resource(configMaps).create({ metadata: { name: 'settings', namespace: 'default' }, data: { a: '1' } });
  await api.resource(secrets).create({ metadata: { name: 'creds', namespace: 'default' }, data: { p: btoa('pw') } });
  await api.resource(services).create({ metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
  const agentDir = tempDir(t);
  const checkpoint = new Checkpoint(agentDir);
  checkpoint.savePod(pod);
  const sources = new ApiSources(api, checkpoint, () => ({}));
  t.teardown(() => sources.stop());
  sources.start();
  t.equal((await sources.configMap('default', 'settings'))?.data?.a, '1');
  t.equal((await sources.secret('default', 'creds'))?.data?.p, btoa('pw'));
  const names = async (ns: string) => (await sources.services(ns)).map((s) => s.metadata?.name);
  t.ok((await eventually(() => names('default').catch(() => undefined))).includes('web'), 'Services from the informer');
  await eventually(() => checkpoint.services('default')?.some((s) => s.metadata?.name === 'web'), { what: 'the Services kept' });

  down = true;
  t.equal((await sources.configMap('default', 'settings'))?.data?.a, '1', 'the API away: the ConfigMap as last read');
  const before = calls;
  t.equal((await sources.secret('default', 'creds'))?.data?.p, btoa('pw'), 'and the Secret');
  t.equal(calls, before, 'just after a failure the API is not asked again');
  await t.rejects(sources.configMap('default', 'never-read'), 'what was never read is not there');
  t.ok((await names('default')).includes('web'), "the informer's last state");

  // A restart without the API: all from the disk.
  await checkpoint.flushed();
  const again = new ApiSources(api, new Checkpoint(agentDir), () => ({}));
  t.teardown(() => again.stop());
  again.start();
  t.equal((await again.configMap('default', 'settings'))?.data?.a, '1', 'after a restart: from the checkpoint');
  t.ok(
    (await again.services('default')).some((s) => s.metadata?.name === 'web'),
    'Services from the checkpoint',
  );
  await t.rejects(
    again.services('elsewhere'),
    { message: /services have not yet been read/ },
    'a namespace whose Services were never read: no environment',
  );

  // Stopped before its informer ever listed: the empty cache is no list of Services, neither served nor kept.
  again.stop();
  await new Promise((r) => setImmediate(r));
  t.ok(
    (await again.services('default')).some((s) => s.metadata?.name === 'web'),
    'after a stop: still the Services kept',
  );

  // The API back: its answer (the ConfigMap is gone) wins, and is forgotten by the checkpoint.
  down = false;
  await api.resource(configMaps).delete('default', 'settings');
  await eventually(async () => (await new ApiSources(api, checkpoint, () => ({})).configMap('default', 'settings')) === undefined);
  t.notOk(checkpoint.object('configmaps', 'default', 'settings'), 'a ConfigMap deleted from the API leaves the checkpoint');
});
