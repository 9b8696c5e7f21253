// The watch cache with several servers on one Postgres: a read served from one server's cache sees
// every write another server acknowledged before it (the cache catches up with the shared log first),
// and its watch delivers the other server's writes.
import t from 'tap';
import { builtinResources } from '../../src/api/registry/builtin/index.js';
import { Registry } from '../../src/api/registry/registry.js';
import { ObjectStore } from '../../src/api/storage/object-store.js';
import { openPostgresStore } from '../../src/store/index.js';
import { startPostgres } from '../helpers/postgres.js';

const registry = new Registry(builtinResources());
const configMaps = registry.byResource('', 'v1', 'configmaps')!;
const namespaces = registry.byResource('', 'v1', 'namespaces')!;

t.test('a read on one server sees what another acknowledged', async (t) => {
  const endpoint = await (await startPostgres(t)).newDatabase();
  const [storeA, storeB] = [await openPostgresStore({ endpoint }), await openPostgresStore({ endpoint })];
  t.teardown(async () => {
    await storeA.close();
    await storeB.close();
  });
  const [a, b] = [new ObjectStore(storeA), new ObjectStore(storeB)];
  await b.create(namespaces, undefined, { metadata: { name: 'n' } });
  t.same((await a.list(configMaps, 'n')).items, [], 'the cache of server A is built');
  const watch = await a.watch(configMaps, 'n', { resourceVersion: '0' });
  const events = watch.events[Symbol.asyncIterator]();
  t.same((await events.next()).value, [], 'the initial state: nothing');
  for (let i = 0; i < 20; i++) {
    const created = await b.create(configMaps, 'n', { metadata: { name: `cm-${i}` } });
    const listed = await a.list(configMaps, 'n');
    t.equal(listed.items.length, i + 1, `write ${i} of server B is in server A's next list`);
    t.ok(Number(listed.resourceVersion) >= Number(created.metadata.resourceVersion));
    t.equal((await a.get(configMaps, 'n', `cm-${i}`)).metadata.uid, created.metadata.uid, 'and in its next get');
  }
  const seen: string[] = [];
  while (seen.length < 20) for (const e of (await events.next()).value) seen.push(`${e.type} ${e.object.metadata?.name}`);
  t.same(
    seen,
    Array.from({ length: 20 }, (_, i) => `ADDED cm-${i}`),
    "server A's watch has server B's writes in order",
  );
  watch.close();
});
