import path from 'node:path';
import t from 'tap';
import { openSqliteStore } from '../../src/store/index.js';
import { ApiServerEndpoints, type ApiServerAddress } from '../../src/apiserver/apiserver-endpoints.js';
import { tempDir } from '../helpers/tmp.js';

t.test('servers sharing a datastore list each other; the last to stop stays listed', async (t) => {
  const store = await openSqliteStore({ file: path.join(tempDir(t), 'state.db') });
  t.teardown(() => store.close());
  const written: ApiServerAddress[][] = [];
  const write = async (servers: ApiServerAddress[]) => void written.push(servers);
  const a = new ApiServerEndpoints(store, { address: '10.0.0.1', port: 6443 }, write);
  const b = new ApiServerEndpoints(store, { address: '10.0.0.2', port: 6443 }, write);
  await a.start();
  await b.start();
  t.same(written.at(-1), [
    { address: '10.0.0.1', port: 6443 },
    { address: '10.0.0.2', port: 6443 },
  ]);
  await a.stop();
  t.same(written.at(-1), [{ address: '10.0.0.2', port: 6443 }], 'a stopped server leaves at once');
  const before = written.length;
  await b.stop();
  t.equal(written.length, before, 'the last one is not taken out: no endpoints at all would be written otherwise');
});
