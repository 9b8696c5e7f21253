// Pods whose images come from a real registry (Debian's docker-registry on 127.0.0.1), configured
// through a registries.yaml given with --private-registry: plain pulls and re-pulls of :latest, a
// mirror (and one with rewrites), a registry that comes up late, and basic auth over TLS with a CA
// and client certificates.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { freePort, startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { podWhen } from '../helpers/pods.js';
import { makeTestPki, testRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';
import { CriClient } from '../../src/cri/client.js';

const json = async (c: Cluster, ...args: string[]) => JSON.parse(await c.k('get', ...args, '-o', 'json'));

const running = (p: any) => p.status?.containerStatuses?.[0]?.state?.running !== undefined;
const waiting = (reason: string) => (p: any) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === reason;
const events = async (c: Cluster, pod: string) =>
  (await json(c, 'events', '--field-selector', `involvedObject.name=${pod}`)).items.map((e: any) => `${e.reason}: ${e.message}`).join('\n');

async function runPod(c: Cluster, name: string, image: string, pullPolicy = 'IfNotPresent'): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], {
    input:
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  terminationGracePeriodSeconds: 1\n` +
      `  containers:\n  - {name: c, image: "${image}", imagePullPolicy: ${pullPolicy}}\n`,
  });
  if (r.code !== 0) throw new Error(r.stderr);
}

/** Every waiting reason the pod's container shows, in order, as a watch sees the status writes. */
function watchWaitingReasons(t: Test, c: Cluster, name: string): string[] {
  const reasons: string[] = [];
  const child = spawn(
    'kubectl',
    [
      '--kubeconfig',
      c.kubeconfig,
      'get',
      'pods',
      '--watch',
      '--field-selector',
      `metadata.name=${name}`,
      '-o',
      'jsonpath={.status.containerStatuses[0].state.waiting.reason}{"\\n"}',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH, HOME: path.dirname(c.dataDir) } },
  );
  let rest = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const l of lines) if (l && l !== reasons.at(-1)) reasons.push(l);
  });
  t.teardown(() => void child.kill());
  return reasons;
}

const deletePods = (c: Cluster, ...names: string[]) => c.k('delete', 'pod', ...names, '--wait=true', '--timeout=120s');

t.test('pods pull their images from registries configured as in K3s', async (t) => {
  const dir = tempDir(t, 'skiff-registries-');
  const pki = await makeTestPki(dir);
  const plain = await testRegistry(t);
  const late = await testRegistry(t, { port: await freePort() });
  const secure = await testRegistry(t, { tls: pki, user: { name: 'puller', password: 's3cret:0123' } });
  await plain.start();
  await secure.start();
  const tls = { ca_file: pki.caFile, cert_file: pki.clientCertFile, key_file: pki.clientKeyFile };
  const registriesFile = path.join(dir, 'registries.yaml');
  fs.writeFileSync(
    registriesFile,
    YAML.stringify({
      mirrors: {
        'example.invalid': { endpoint: [`http://${plain.host}`] },
        'rewrite.invalid': { endpoint: [`http://${plain.host}`], rewrite: { '^team/(.*)$': 'mirrored/$1' } },
      },
      configs: {
        // The same registry under two names: with credentials, and without (TLS alone).
        [secure.host]: { auth: { username: 'puller', password: 's3cret:0123' }, tls },
        [`localhost:${secure.port}`]: { tls },
      },
    }),
  );
  const c = await startCluster(t, ['--private-registry', registriesFile], { agent: true });

  await t.test(':latest with pull policy Always is pulled again for each new pod', async (t) => {
    await plain.push('busybox:latest', ['sleep', '3600']);
    await runPod(c, 'latest-1', `${plain.host}/busybox:latest`, 'Always');
    const first = await podWhen(c, 'latest-1', running);
    t.ok(running(first), 'the pod runs its image from the registry');
    t.match(await events(c, 'latest-1'), new RegExp(`Successfully pulled image "${plain.host}/busybox:latest"`));
    // A new image under the same tag.
    await plain.push('busybox:latest', ['sleep', '7200']);
    await runPod(c, 'latest-2', `${plain.host}/busybox:latest`, 'Always');
    const second = await podWhen(c, 'latest-2', running);
    t.ok(running(second));
    t.match(second.status.containerStatuses[0].imageID, /\S/);
    t.not(second.status.containerStatuses[0].imageID, first.status.containerStatuses[0].imageID, 'the new push was pulled');
    await deletePods(c, 'latest-1', 'latest-2');
  });

  await t.test('a mirror serves a registry that does not exist', async (t) => {
    await plain.push('busybox:1');
    await runPod(c, 'mirrored', 'example.invalid/busybox:1');
    t.ok(running(await podWhen(c, 'mirrored', running)), 'pulled through the mirror');
    t.match(
      (await json(c, 'pod', 'mirrored')).status.containerStatuses[0].image,
      /example\.invalid\/busybox:1$/,
      'the image keeps the name the pod asked for',
    );
    await deletePods(c, 'mirrored');
  });

  await t.test('a mirror that rewrites repositories, as in K3s', async (t) => {
    await plain.push('mirrored/busybox:1');
    await runPod(c, 'rewritten', 'rewrite.invalid/team/busybox:1');
    const pod = await podWhen(c, 'rewritten', running);
    t.ok(running(pod), `pulled ${plain.host}/mirrored/busybox:1 for it`);
    t.match(pod.status.containerStatuses[0].image, /rewrite\.invalid\/team\/busybox:1$/);
    const cri = new CriClient(c.node!.socket);
    const tags = (await cri.listImages().finally(() => cri.close())).flatMap((i) => i.repoTags as string[]);
    t.ok(tags.includes('rewrite.invalid/team/busybox:1'), 'the node has the image under the name the pod asked for');
    t.notOk(
      tags.some((n) => n.includes('mirrored/busybox')),
      'and under that name only',
    );
    await deletePods(c, 'rewritten');
  });

  await t.test('a registry that is down: ErrImagePull, back-off, then the pod runs once it is up', async (t) => {
    const reasons = watchWaitingReasons(t, c, 'late');
    await runPod(c, 'late', `${late.host}/busybox:1`);
    const backingOff = await podWhen(c, 'late', waiting('ImagePullBackOff'));
    // ErrImagePull lasts until the worker's next sync: a watch sees it, polling may not.
    t.ok(
      await eventually(async () => reasons.join(' ').includes('ErrImagePull ImagePullBackOff'), { timeout: 30_000 }),
      `ErrImagePull, then ImagePullBackOff (seen: ${reasons.join(', ')})`,
    );
    t.match(await events(c, 'late'), new RegExp(`Failed to pull image "${late.host}/busybox:1": .*connection refused`));
    t.match(backingOff.status.containerStatuses[0].state.waiting, {
      reason: 'ImagePullBackOff',
      message: `Back-off pulling image "${late.host}/busybox:1"`,
    });
    await late.start();
    await late.push('busybox:1');
    // The back-off is short this early (10 s, then 20 s); wait well beyond it.
    t.ok(running(await podWhen(c, 'late', running, { timeout: 180_000 })), 'pulled once the registry came up');
    t.match(await events(c, 'late'), /Failed to pull image[\s\S]*Successfully pulled image/);
    await deletePods(c, 'late');
  });

  await t.test('basic auth and TLS from configs: a CA of its own, client certificates, credentials', async (t) => {
    await secure.push('busybox:1');
    await runPod(c, 'no-creds', `localhost:${secure.port}/busybox:1`);
    const refused = await podWhen(c, 'no-creds', (p) => waiting('ErrImagePull')(p) || waiting('ImagePullBackOff')(p));
    t.notOk(running(refused));
    const said = await eventually(async () => {
      const e = await events(c, 'no-creds');
      return /Failed to pull image/.test(e) ? e : undefined;
    });
    t.match(
      said,
      new RegExp(`Failed to pull image "localhost:${secure.port}/busybox:1": .*401 Unauthorized`),
      'the event says the registry wants credentials',
    );
    t.notMatch(said, /certificate|x509|tls/i, 'TLS itself was fine');
    await runPod(c, 'with-creds', `${secure.host}/busybox:1`);
    t.ok(running(await podWhen(c, 'with-creds', running)), 'with credentials it runs');
    await deletePods(c, 'no-creds', 'with-creds');
  });
});
