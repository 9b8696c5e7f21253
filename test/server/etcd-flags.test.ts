// etcd's command line as the member module writes it (the member against a real etcd:
// test/e2e/etcd-member.test.ts).
import t from 'tap';
import type { EtcdPki } from '../../src/pki/etcd-pki.js';
import { type EtcdMemberOptions, etcdFlags, parseEtcdArgs } from '../../src/server/etcd-member.js';

const pki: EtcdPki = {
  dir: '/d/server/tls/etcd',
  caFile: '/d/server/tls/etcd/server-ca.crt',
  server: { cert: '/d/server/tls/etcd/server-client.crt', key: '/d/server/tls/etcd/server-client.key' },
  peer: { cert: '/d/server/tls/etcd/peer-server-client.crt', key: '/d/server/tls/etcd/peer-server-client.key' },
  client: { cert: '/d/server/tls/etcd/client.crt', key: '/d/server/tls/etcd/client.key' },
};
const opts: EtcdMemberOptions = { dataDir: '/d', name: 'pi-1', address: '10.0.0.5', pki };

t.test('the first start of a new cluster: this member alone, TLS both ways, timings for slow disks', async (t) => {
  t.same(etcdFlags(opts, true), [
    '--name=pi-1',
    '--data-dir=/d/server/db/etcd',
    '--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.5:2379',
    '--advertise-client-urls=https://10.0.0.5:2379',
    '--listen-peer-urls=https://10.0.0.5:2380',
    '--initial-advertise-peer-urls=https://10.0.0.5:2380',
    '--cert-file=/d/server/tls/etcd/server-client.crt',
    '--key-file=/d/server/tls/etcd/server-client.key',
    '--trusted-ca-file=/d/server/tls/etcd/server-ca.crt',
    '--client-cert-auth=true',
    '--peer-cert-file=/d/server/tls/etcd/peer-server-client.crt',
    '--peer-key-file=/d/server/tls/etcd/peer-server-client.key',
    '--peer-trusted-ca-file=/d/server/tls/etcd/server-ca.crt',
    '--peer-client-cert-auth=true',
    '--heartbeat-interval=500',
    '--election-timeout=5000',
    '--snapshot-count=10000',
    '--logger=zap',
    '--log-outputs=stderr',
    '--initial-cluster=pi-1=https://10.0.0.5:2380',
    '--initial-cluster-state=new',
  ]);
});

t.test('joining, restarting, other ports, IPv6, and --etcd-arg over our own settings', async (t) => {
  const join = 'pi-0=https://10.0.0.4:2380,pi-1=https://10.0.0.5:2380';
  const joining = etcdFlags({ ...opts, join }, true);
  t.ok(joining.includes(`--initial-cluster=${join}`) && joining.includes('--initial-cluster-state=existing'));
  t.notMatch(etcdFlags({ ...opts, join }, false).join(' '), /initial-cluster/, 'a restart reuses the data dir');

  const v6 = etcdFlags({ ...opts, address: 'fd00::5', clientPort: 12379, peerPort: 12380 }, false);
  t.ok(v6.includes('--listen-client-urls=https://[::1]:12379,https://[fd00::5]:12379'));
  t.ok(v6.includes('--listen-peer-urls=https://[fd00::5]:12380'));
  t.ok(etcdFlags({ ...opts, address: '127.0.0.1' }, false).includes('--listen-client-urls=https://127.0.0.1:2379'), 'loopback once');

  const tuned = etcdFlags({ ...opts, extraArgs: ['election-timeout=10000', '--quota-backend-bytes=8589934592'] }, false);
  t.same(
    tuned.filter((f) => /election-timeout|quota/.test(f)),
    ['--election-timeout=10000', '--quota-backend-bytes=8589934592'],
  );
  t.same(parseEtcdArgs(['a=b=c', 'empty=']), { a: 'b=c', empty: '' });
  t.throws(() => parseEtcdArgs(['quota-backend-bytes']), /invalid --etcd-arg "quota-backend-bytes": expected name=value/);
});
