// Encryption at rest end to end: a real `skiff server --secrets-encryption`, kubectl and the
// `skiff secrets-encrypt` CLI. Secrets are created and read back; the raw database file and its WAL
// are searched for a Secret's value (absent) next to a ConfigMap's (present: the search looks in the
// right place); rotate-keys, prepare/rotate/reencrypt, a restart, and enabling on a server that
// already holds plaintext Secrets.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { API_ONLY, startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { runSkiff } from '../helpers/run.js';

const SECRET = 'skiff-e2e-secret-7d1c9a';
const CONTROL = 'skiff-e2e-configmap-5be20f';
// Secrets hold base64: look for both spellings (without the padding, which depends on the offset).
const spellings = (v: string) => [v, Buffer.from(v).toString('base64').replace(/=+$/, '')];

/** The database file and its WAL, as bytes on disk. */
function rawDatastore(c: Cluster): Buffer {
  const db = path.join(c.dataDir, 'server', 'db', 'state.db');
  return Buffer.concat([fs.readFileSync(db), fs.existsSync(`${db}-wal`) ? fs.readFileSync(`${db}-wal`) : Buffer.alloc(0)]);
}
const onDisk = (c: Cluster, v: string) => spellings(v).some((s) => rawDatastore(c).includes(s));

async function skiff(c: Cluster, ...args: string[]): Promise<string> {
  const r = await runSkiff(['secrets-encrypt', ...args, '--data-dir', c.dataDir, '--server', c.url, '--config', '/dev/null']);
  if (r.code !== 0) throw new Error(`skiff secrets-encrypt ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const password = async (c: Cluster, name = 'db') =>
  Buffer.from(await c.k('get', 'secret', name, '-o', 'jsonpath={.data.password}'), 'base64').toString();

t.test('--secrets-encryption: Secrets never reach the disk as plaintext; status, rotate-keys, reencrypt', async (t) => {
  const c = await startCluster(t, [...API_ONLY, '--secrets-encryption']);
  const config = path.join(c.dataDir, 'server', 'cred', 'encryption-config.json');
  t.equal(fs.statSync(config).mode & 0o777, 0o600, 'K3s place and mode for the config');

  await c.k('create', 'secret', 'generic', 'db', `--from-literal=password=${SECRET}`);
  await c.k('create', 'configmap', 'control', `--from-literal=k=${CONTROL}`);
  t.equal(await password(c), SECRET, 'kubectl reads the Secret back');
  t.ok(onDisk(c, CONTROL), "control: the ConfigMap's value is in the database files");
  t.notOk(onDisk(c, SECRET), "the Secret's value is not");

  t.equal(
    await skiff(c, 'status'),
    [
      'Encryption Status: Enabled',
      'Current Rotation Stage: start',
      'Server Encryption Hashes: All hashes match',
      '',
      'Active  Key Type  Name',
      '------  --------  ----',
      ' *      AES-CBC   aescbckey',
      '',
      '',
    ].join('\n'),
    "K3s's status text",
  );
  t.match(JSON.parse(await skiff(c, 'status', '-o', 'json')), { enable: true, stage: 'start', activekey: 'AES-CBC aescbckey' });

  t.equal(await skiff(c, 'rotate-keys'), 'keys rotated, reencryption finished\n');
  const status = await skiff(c, 'status');
  t.match(status, /Current Rotation Stage: reencrypt_finished\n/);
  t.match(status, / \* {6}AES-CBC {3}aescbckey-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/, 'the new key is active');
  t.notMatch(status, / {8}AES-CBC {3}aescbckey\n/, 'the old key is gone');
  t.equal(await password(c), SECRET);
  t.notOk(rawDatastore(c).includes('k8s:enc:aescbc:v1:aescbckey:'), 'nothing written with the old key is left on disk');
  t.notOk(onDisk(c, SECRET));

  t.equal(await skiff(c, 'prepare'), 'prepare completed successfully\n');
  t.equal(await skiff(c, 'rotate'), 'rotate completed successfully\n');
  t.equal(await skiff(c, 'reencrypt'), 'reencryption started\n');
  await eventually(async () => (await skiff(c, 'status')).includes('Current Rotation Stage: reencrypt_finished'), {
    what: 'reencryption to finish',
  });
  t.equal(await password(c), SECRET);

  const wrong = await runSkiff(['secrets-encrypt', 'rotate', '--data-dir', c.dataDir, '--server', c.url, '--config', '/dev/null']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /^skiff: incorrect stage: reencrypt_finished found on this server/, 'a request out of order: one line');

  await c.restart();
  t.equal(await password(c), SECRET, 'after a restart the Secret is read with the key in the config');
  await c.k('create', 'secret', 'generic', 'later', `--from-literal=password=${SECRET}-2`);
  t.equal(await password(c, 'later'), `${SECRET}-2`);
  t.notOk(onDisk(c, SECRET));
});

t.test('a server that stored plaintext Secrets: secrets-encrypt enable encrypts them and leaves no plaintext', async (t) => {
  const c = await startCluster(t, API_ONLY);
  t.equal(await skiff(c, 'status'), 'Encryption Status: Disabled, no configuration file found\n');
  await c.k('create', 'secret', 'generic', 'db', `--from-literal=password=${SECRET}`);
  await c.k('create', 'configmap', 'control', `--from-literal=k=${CONTROL}`);
  t.ok(onDisk(c, SECRET), 'before: the plaintext Secret is on disk (the search finds it)');
  t.equal(await skiff(c, 'enable'), 'secrets-encryption enabled\n');
  t.notOk(onDisk(c, SECRET), 'after: it is not, in the file or the WAL');
  t.ok(onDisk(c, CONTROL));
  t.equal(await password(c), SECRET);
  t.match(await skiff(c, 'status'), /^Encryption Status: Enabled\n/);
  t.equal(await skiff(c, 'disable'), 'secrets-encryption disabled\n');
  t.ok(onDisk(c, SECRET), 'disable writes Secrets as plaintext again');
  t.match(await skiff(c, 'status'), /^Encryption Status: Disabled\nCurrent Rotation Stage: start\n[\s\S]*\n {8}AES-CBC {3}aescbckey\n/);
});
