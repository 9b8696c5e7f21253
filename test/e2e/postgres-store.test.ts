// The store suites again, on Postgres (Debian's `postgresql`, started here in a temp dir), and
// what only a shared datastore has: several servers (stores) writing and watching the same log
// (test/helpers/two-servers.ts).
import t from 'tap';
import { startPostgres } from '../helpers/postgres.js';
import { usePostgres } from '../store/helpers.js';
import { testTwoServers } from '../helpers/two-servers.js';

const server = await startPostgres(t);
usePostgres(server);
await import('../store/crud.test.js');
await import('../store/watch.test.js');
await import('../store/compaction.test.js');
await import('../store/leases.test.js');

testTwoServers();
