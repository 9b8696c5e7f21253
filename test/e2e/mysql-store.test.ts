// The store suites again, on MySQL (Debian's MariaDB, started here in a temp dir), what only a
// shared datastore has (test/helpers/two-servers.ts), and what is MySQL's own: the endpoint's
// forms, ids committed out of order without LISTEN/NOTIFY, keys compared as bytes.
import mysql from 'mysql2/promise';
import t, { type Test } from 'tap';
import { StoreOpenError } from '../../src/store/index.js';
import { parseMysqlEndpoint } from '../../src/store/mysql-endpoint.js';
import { openMysqlStore } from '../../src/store/mysql.js';
import { eventually } from '../helpers/eventually.js';
import { mysqlBackend, startMysql } from '../helpers/mysql.js';
import { testTwoServers } from '../helpers/two-servers.js';
import { b, summary, take, useBackend } from '../store/helpers.js';

const server = await startMysql(t);
useBackend(mysqlBackend(server));
await import('../store/crud.test.js');
await import('../store/watch.test.js');
await import('../store/compaction.test.js');
await import('../store/leases.test.js');

testTwoServers();

async function openStore(t: Test, endpoint: string) {
  const store = await openMysqlStore({ endpoint });
  t.teardown(() => store.close());
  return store;
}

t.test('an id drawn before another but committed after it is waited for, never skipped', async (t) => {
  const endpoint = await server.newDatabase();
  const store = await openStore(t, endpoint);
  const w = store.watch('/gap/', { fromRevision: 1 });
  const connect = () =>
    mysql.createConnection({ socketPath: server.socket, user: 'root', database: parseMysqlEndpoint(endpoint).database });
  // Another server's write that has drawn id 1, holding the writers' lock as every write does, and not committed yet.
  const slow = await connect();
  t.teardown(() => slow.end());
  await slow.beginTransaction();
  await slow.query("SELECT value FROM kine_meta WHERE `key` = 'writers' LOCK IN SHARE MODE");
  await slow.query('INSERT INTO kine (name, created, deleted, create_revision, prev_revision, lease, value) VALUES (?, 1, 0, 0, 0, 0, ?)', [
    '/gap/first',
    b('1'),
  ]);
  const second = store.create('/gap/second', b('2'));
  const observer = await connect();
  t.teardown(() => observer.end());
  // Once id 2 is committed, the catch-up sees id 1 missing and asks for the writers' lock exclusively.
  const waitsForWriter = async () => {
    const [rows] = await observer.query("SELECT lock_mode FROM information_schema.INNODB_LOCKS WHERE lock_table LIKE '%`kine_meta`'");
    return (rows as { lock_mode: string }[]).some((r) => r.lock_mode === 'X');
  };
  await eventually(waitsForWriter, { what: "the catch-up to wait for the uncommitted writer's lock" });
  t.equal(store.currentRevision(), 0, 'no revision is seen past the one not committed yet');
  await slow.commit();
  const first = await take(w, 1);
  t.equal(first[0]!.kv.key, '/gap/first', 'the id drawn first comes first');
  t.same(summary(first.length > 1 ? first : [...first, ...(await take(w, 1))]), ['put /gap/first@1=1', 'put /gap/second@2=2']);
  t.equal((await second).revision, 2, 'the write is acknowledged once the revisions before it are in');
});

t.test('keys are compared as bytes: trailing spaces count, and keys sort by code point', async (t) => {
  const store = await openStore(t, await server.newDatabase());
  const keys = ['/k/a', '/k/a ', '/k/é', '/k/z', '/k/\u{1F600}'];
  for (const key of keys) await store.create(key, b(key));
  t.same(
    (await store.list('/k/')).items.map((kv) => kv.key),
    ['/k/a', '/k/a ', '/k/z', '/k/é', '/k/\u{1F600}'],
  );
  t.equal((await store.get('/k/a '))!.value.toString(), '/k/a ');
  t.equal(await store.count('/k/a'), 2, "'/k/a' is a prefix of both");
});

t.test('a database that does not exist yet is created, as kine does', async (t) => {
  const endpoint = `mysql://root@unix(${server.socket})/fresh`;
  const store = await openStore(t, endpoint);
  await store.create('/k', b('v'));
  const again = await openStore(t, endpoint);
  t.equal((await again.get('/k'))!.value.toString(), 'v');
});

t.test("a datastore that cannot be opened is refused in one line, without the endpoint's password", async (t) => {
  const refused = async (endpoint: string, message: RegExp) => {
    const err = await openMysqlStore({ endpoint }).catch((e: unknown) => e);
    t.type(err, StoreOpenError, endpoint);
    t.match((err as Error).message, message);
    t.notMatch((err as Error).message, /s3cret/);
  };
  await refused(`mysql://root:s3cret@unix(${server.socket})/x`, /^cannot open datastore mysql:\/\/root:\*\*\*@unix\(.*Access denied/);
  await refused(`mysql://root:s3cret@unix(${server.socket}.missing)/x`, /^cannot open datastore mysql:\/\/root:\*\*\*@unix\(.*ENOENT/);
  await refused(
    'mysql://root:s3cret@tcp(db:port)/x',
    /^invalid datastore endpoint mysql:\/\/root:\*\*\*@tcp\(db:port\)\/x: expected host:port/,
  );
  await refused('mysql://root:s3cret@db/x?tls=true&password=s3cret', /parameters are not taken \(tls, password\)/);
});

t.test("the endpoint in K3s's forms (tcp(), unix()) and as a URL, with kine's defaults", async (t) => {
  t.same(parseMysqlEndpoint('mysql://'), { user: 'root', password: '', database: 'kubernetes', host: '127.0.0.1', port: 3306 });
  t.same(parseMysqlEndpoint('mysql://k3s:p%40ss@tcp(db.example:3307)/cluster'), {
    user: 'k3s',
    password: 'p@ss',
    database: 'cluster',
    host: 'db.example',
    port: 3307,
  });
  t.same(parseMysqlEndpoint('mysql://k3s@unix(/run/mysqld/mysqld.sock)/'), {
    user: 'k3s',
    password: '',
    database: 'kubernetes',
    socketPath: '/run/mysqld/mysqld.sock',
  });
  t.same(parseMysqlEndpoint('mysql://a:b@c@[::1]:3306/d'), { user: 'a', password: 'b@c', database: 'd', host: '::1', port: 3306 });
  t.throws(() => parseMysqlEndpoint('mysql://u:p@h:70000/d'), /expected host:port, not h:70000/);
  t.throws(() => parseMysqlEndpoint('mysql://u:p@h/d/e'), /expected mysql:\/\/user:password@tcp\(host:port\)\/database/);
  t.throws(() => parseMysqlEndpoint('mysql://u:%zz@h/d'), /the password is not percent-encoded correctly/);
});
