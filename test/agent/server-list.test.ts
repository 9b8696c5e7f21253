// The servers an agent knows: read from the default/kubernetes Endpoints the servers publish (as the
// node itself, through the API), kept in <data-dir>/agent/etc, and the configured --server always first.
import fs from 'node:fs';
import t from 'tap';
import { endpointServers, ServerList, serverListFile } from '../../src/agent/server-list.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { endpoints } from '../../src/client/resources.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { ConfigError } from '../../src/k8s/config-error.js';
import { apiHarness } from '../apiserver/harness.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

const CONFIGURED = 'https://10.0.0.1:6443';

t.test('the servers an Endpoints object names: ready addresses with the https port, or the only port', async (t) => {
  t.same(
    endpointServers({
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }],
          notReadyAddresses: [{ ip: '10.0.0.9' }],
          ports: [{ name: 'https', port: 6443 }],
        },
        { addresses: [{ ip: 'fd00::3' }], ports: [{ port: 7443 }] },
        {
          addresses: [{ ip: '10.0.0.4' }],
          ports: [
            { name: 'metrics', port: 1 },
            { name: 'https', port: 8443 },
          ],
        },
        {
          addresses: [{ ip: '10.0.0.5' }],
          ports: [
            { name: 'a', port: 1 },
            { name: 'b', port: 2 },
          ],
        },
        { addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'https', port: 6443 }] },
      ],
    }),
    ['https://10.0.0.1:6443', 'https://10.0.0.2:6443', 'https://[fd00::3]:7443', 'https://10.0.0.4:8443'],
  );
  t.same(endpointServers({}), []);
});

t.test('the configured server first and always; the published ones follow, are saved, and leave when unpublished', async (t) => {
  const file = serverListFile(tempDir(t));
  t.match(file, /\/agent\/etc\/skiff-agent-load-balancer\.json$/);
  const list = new ServerList(`${CONFIGURED}/`, file);
  t.same(list.servers(), [CONFIGURED]);
  t.notOk(fs.existsSync(file), 'nothing to save yet');

  list.update(['https://10.0.0.2:6443', CONFIGURED, 'https://10.0.0.3:6443/']);
  t.same(list.servers(), [CONFIGURED, 'https://10.0.0.2:6443', 'https://10.0.0.3:6443']);
  await list.saved();
  t.same(JSON.parse(fs.readFileSync(file, 'utf8')), {
    serverURL: CONFIGURED,
    servers: ['https://10.0.0.2:6443', CONFIGURED, 'https://10.0.0.3:6443'],
  });

  list.update(['https://10.0.0.3:6443']);
  t.same(list.servers(), [CONFIGURED, 'https://10.0.0.3:6443'], 'unpublished servers leave, the configured one stays');
  await list.saved();
  t.same(new ServerList(CONFIGURED, file).servers(), [CONFIGURED, 'https://10.0.0.3:6443'], 'an agent started again reads the file');
  const other = 'https://10.9.9.9:6443';
  t.same(new ServerList(other, file).servers(), [other], 'a list saved for another --server is not used');

  fs.writeFileSync(file, '{ not json');
  t.same(new ServerList(CONFIGURED, file).servers(), [CONFIGURED], 'an unreadable file is ignored');
  for (const bad of ['10.0.0.1:6443', 'http://10.0.0.1:6443'])
    t.throws(() => new ServerList(bad, file), new ConfigError(`--server ${bad}: not an https:// URL (https://host:port)`));
});

t.test('the list follows default/kubernetes, read as the node', async (t) => {
  const h = await apiHarness(t);
  const asNode = new ApiClient(inProcessTransport(h.app, { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] }));
  const file = serverListFile(tempDir(t));
  const list = new ServerList(CONFIGURED, file).follow(asNode);
  t.teardown(() => list.stop());

  await h.publishApiServer('10.0.0.2', 6443, false);
  await eventually(() => list.servers().length === 2, { what: 'the published server in the list', explain: () => list.servers().join() });
  t.same(list.servers(), [CONFIGURED, 'https://10.0.0.2:6443']);

  const admin = new ApiClient(inProcessTransport(h.app, { username: 'admin', groups: ['system:masters'] }));
  const ep = await admin.resource(endpoints).get('default', 'kubernetes');
  ep.subsets = [
    { addresses: [{ ip: '10.0.0.3' }], ports: [{ name: 'https', port: 6443 }] },
    { addresses: [{ ip: '10.0.0.4' }], ports: [{ name: 'https', port: 7443 }] },
  ];
  await admin.resource(endpoints).update(ep);
  await eventually(() => list.servers().includes('https://10.0.0.4:7443'), { what: 'the new servers' });
  t.same(list.servers(), [CONFIGURED, 'https://10.0.0.3:6443', 'https://10.0.0.4:7443'], '10.0.0.2 left');
  await list.saved();
  t.same(JSON.parse(fs.readFileSync(file, 'utf8')).servers, ['https://10.0.0.3:6443', 'https://10.0.0.4:7443'], 'and the file follows');
});
