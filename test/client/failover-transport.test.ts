// The failover transport against real HTTPS servers on loopback that share one CA, as the servers of
// a cluster do: which server a request goes to when one dies, pauses or hangs up, what is repeated
// on the next server and what is not, and an informer that follows the transport to a live server.
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import t, { type Test } from 'tap';
import { FailoverTransport, ServerUnreachableError, type FailoverOptions } from '../../src/client/failover-transport.js';
import { Informer } from '../../src/client/informer.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { configMaps } from '../../src/client/resources.js';
import type { HttpsTarget } from '../../src/client/transport.js';
import { createCA, issueCertificate, type KeyPair } from '../../src/pki/certificates.js';
import { eventually } from '../helpers/eventually.js';

interface Pki {
  serverCa: KeyPair;
  clientCa: KeyPair;
  serving: KeyPair;
  credentials: Omit<HttpsTarget, 'server'>;
}

async function pki(): Promise<Pki> {
  const serverCa = await createCA('server-ca');
  const clientCa = await createCA('client-ca');
  // One serving certificate for every server here: they all listen on 127.0.0.1.
  const serving = await issueCertificate(serverCa, { commonName: 'skiff', sans: ['127.0.0.1'], usage: 'server' });
  const node = await issueCertificate(clientCa, { commonName: 'system:node:n1', usage: 'client' });
  return { serverCa, clientCa, serving, credentials: { caPem: serverCa.certPem, certPem: node.certPem, keyPem: node.keyPem } };
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface TestServer {
  url: string;
  /** Each request it received: "METHOD path body". */
  seen: string[];
  /** Dies: stops listening and drops every connection. */
  kill(): Promise<void>;
  /** Stops taking new connections; those it has stay open (as a server on its way out). */
  stopListening(): void;
  /** Comes back on the same port. */
  revive(): Promise<void>;
}

/** An HTTPS server that answers "<name> <client's CN>" unless `handler` answers. */
async function serve(t: Test, p: Pki, name: string, handler?: Handler): Promise<TestServer> {
  const seen: string[] = [];
  const server = https.createServer(
    { cert: p.serving.certPem, key: p.serving.keyPem, ca: p.clientCa.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`.trim());
        if (handler) handler(req, res, body);
        else res.end(`${name} ${(req.socket as TLSSocket).getPeerCertificate().subject.CN}`);
      });
    },
  );
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  // Resolves once the server has stopped listening and its last connection has closed.
  let closed = Promise.resolve();
  const stopListening = () => {
    if (server.listening) closed = new Promise((resolve) => server.close(() => resolve()));
  };
  const kill = async () => {
    stopListening();
    server.closeAllConnections();
    await closed;
  };
  t.teardown(kill);
  return { url: `https://127.0.0.1:${port}`, seen, kill, stopListening, revive: () => listen(port) };
}

function failover(t: Test, p: Pki, servers: TestServer[], opts?: FailoverOptions): FailoverTransport {
  const transport = new FailoverTransport(p.credentials, () => servers.map((s) => s.url), opts);
  t.teardown(() => transport.close());
  return transport;
}

const text = async (res: Promise<Response>) => {
  const r = await res;
  return `${r.status} ${await r.text()}`;
};

t.test('requests go to the first server, move on when it dies, and stay where they are answered', async (t) => {
  const p = await pki();
  const [a, b, c] = [await serve(t, p, 'a'), await serve(t, p, 'b'), await serve(t, p, 'c')];
  const transport = failover(t, p, [a, b, c]);
  t.equal(await text(transport.request('GET', '/')), '200 a system:node:n1');
  t.equal(await text(transport.request('GET', '/')), '200 a system:node:n1', 'again on the kept-alive connection');

  await a.kill();
  t.equal(await text(transport.request('GET', '/x')), '200 b system:node:n1', 'the next server in the list answers');
  t.equal(transport.server, b.url);
  await a.revive();
  t.equal(await text(transport.request('GET', '/y')), '200 b system:node:n1', 'no move back while the current server works');
  t.same(a.seen, ['GET /', 'GET /']);
});

t.test('a failed server is tried again after the others, and like any other once its failure is old', async (t) => {
  const p = await pki();
  const [a, b, c] = [await serve(t, p, 'a'), await serve(t, p, 'b'), await serve(t, p, 'c')];
  const recent = failover(t, p, [a, b, c]);
  const forgetful = failover(t, p, [a, b, c], { retryFailedAfterMs: 0 });
  await a.kill();
  t.equal(await text(recent.request('GET', '/')), '200 b system:node:n1');
  t.equal(await text(forgetful.request('GET', '/')), '200 b system:node:n1');
  await a.revive();
  await b.kill();
  t.equal(await text(recent.request('GET', '/')), '200 c system:node:n1', 'a server that never failed comes before one that just did');
  t.equal(await text(forgetful.request('GET', '/')), '200 a system:node:n1', 'an old failure is forgotten: the list order holds');
  await c.kill();
  t.equal(await text(recent.request('GET', '/')), '200 a system:node:n1', 'the failed server is tried again');
});

t.test("an HTTP error is the server's answer, not a failure", async (t) => {
  const p = await pki();
  const a = await serve(t, p, 'a', (_req, res) => {
    res.statusCode = 503;
    res.end('busy');
  });
  const b = await serve(t, p, 'b');
  const transport = failover(t, p, [a, b]);
  t.equal(await text(transport.request('POST', '/', { body: '{}' })), '503 busy');
  t.equal(transport.server, a.url);
  t.same(b.seen, []);
});

t.test('a request that never reached a server goes to the next one, a write too', async (t) => {
  const p = await pki();
  const [a, b] = [await serve(t, p, 'a'), await serve(t, p, 'b')];
  const transport = failover(t, p, [a, b]);
  await a.kill();
  t.equal(await text(transport.request('POST', '/things', { body: '{"n":1}' })), '200 b system:node:n1', 'refused: sent to the next');
  t.same(b.seen, ['POST /things {"n":1}'], 'once');
});

t.test('a server that takes the connection but never completes TLS (paused) is left after the connect timeout', async (t) => {
  const p = await pki();
  const held = new Set<Socket>();
  const paused = net.createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => paused.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of held) s.destroy();
    paused.close();
  });
  const a = { url: `https://127.0.0.1:${(paused.address() as AddressInfo).port}` } as TestServer;
  const b = await serve(t, p, 'b');
  const transport = failover(t, p, [a, b], { connectTimeoutMs: 1000 });
  t.equal(await text(transport.request('PUT', '/lease', { body: 'renew' })), '200 b system:node:n1', 'a write that was never sent');
  t.equal(held.size, 1, 'the paused server had taken the connection');
  t.same(b.seen, ['PUT /lease renew']);
});

t.test('a write that may have reached a server is not repeated on the next; a read is', async (t) => {
  const p = await pki();
  const hangUp: Handler = (req, res) => (req.url === '/hang-up' ? req.socket.destroy() : res.end('a'));
  const [a, b] = [await serve(t, p, 'a', hangUp), await serve(t, p, 'b')];

  const writes = failover(t, p, [a, b]);
  const err = await writes.request('POST', '/hang-up', { body: 'once' }).catch((e: unknown) => e);
  t.type(err, ServerUnreachableError);
  t.ok((err as ServerUnreachableError).mayHaveArrived);
  t.match((err as Error).message, /POST \/hang-up: https:\/\/127\.0\.0\.1:\d+: .*it may have reached the server, so it is not repeated/);
  t.same(a.seen, ['POST /hang-up once'], 'the server had the request');
  t.same(b.seen, [], 'and it was not sent again');
  t.equal(writes.server, b.url, 'yet the server that hung up is left');

  // On a kept-alive connection, as a lease renewal would go.
  const reads = failover(t, p, [a, b]);
  t.equal(await text(reads.request('GET', '/')), '200 a');
  t.equal(await text(reads.request('GET', '/hang-up')), '200 b system:node:n1');
  t.same(b.seen, ['GET /hang-up']);
});

t.test('a server that takes a request and never answers: reads move on after the answer timeout, writes fail', async (t) => {
  const p = await pki();
  const never: Handler = (req, res) => req.url !== '/stuck' && res.end('a');
  const [a, b] = [await serve(t, p, 'a', never), await serve(t, p, 'b')];
  const reads = failover(t, p, [a, b], { answerTimeoutMs: 1000 });
  t.equal(await text(reads.request('GET', '/stuck')), '200 b system:node:n1');
  const writes = failover(t, p, [a, b], { answerTimeoutMs: 1000 });
  const err = await writes.request('PATCH', '/stuck', { body: '{}' }).catch((e: unknown) => e);
  t.match(err, { mayHaveArrived: true, message: /no answer within 1 s/ });
  t.same(b.seen, ['GET /stuck'], 'only the read went to b');
});

t.test('every server down: one error that names each', async (t) => {
  const p = await pki();
  const [a, b] = [await serve(t, p, 'a'), await serve(t, p, 'b')];
  await a.kill();
  await b.kill();
  const transport = failover(t, p, [a, b]);
  const err = await transport.request('POST', '/things', { body: '{}' }).catch((e: unknown) => e);
  t.type(err, ServerUnreachableError);
  t.notOk((err as ServerUnreachableError).mayHaveArrived);
  t.match((err as Error).message, `POST /things: no API server answered: ${a.url}: connect ECONNREFUSED`);
  t.match((err as Error).message, `; ${b.url}: connect ECONNREFUSED`);
});

t.test('a request its caller aborts is not a failure of the server', async (t) => {
  const p = await pki();
  const [a, b] = [await serve(t, p, 'a', () => {}), await serve(t, p, 'b')];
  const transport = failover(t, p, [a, b]);
  const abort = new AbortController();
  const pending = transport.request('GET', '/watch', { signal: abort.signal });
  await eventually(() => a.seen.length === 1, { what: 'a to have the request' });
  abort.abort();
  t.match(await pending.catch((e: unknown) => e), { name: 'AbortError' });
  t.equal(transport.server, a.url);
  t.same(b.seen, []);
});

t.test('renewed credentials are used on every server from the next request on', async (t) => {
  const p = await pki();
  const [a, b] = [await serve(t, p, 'a'), await serve(t, p, 'b')];
  const transport = failover(t, p, [a, b]);
  t.equal(await text(transport.request('GET', '/')), '200 a system:node:n1');
  const renewed = await issueCertificate(p.clientCa, { commonName: 'system:node:renewed', usage: 'client' });
  p.credentials.certPem = renewed.certPem;
  p.credentials.keyPem = renewed.keyPem;
  t.equal(await text(transport.request('GET', '/')), '200 a system:node:renewed');
  await a.kill();
  t.equal(await text(transport.request('GET', '/')), '200 b system:node:renewed');
});

/** A tiny API: configmaps in default are `names`, and a watch stays open without events. */
const configMapApi =
  (names: string[]): Handler =>
  (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (new URL(req.url!, 'https://x').searchParams.get('watch') === 'true') {
      res.flushHeaders();
      return;
    }
    const items = names.map((name) => ({ metadata: { name, namespace: 'default', resourceVersion: '7' } }));
    res.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items }));
  };

t.test('an informer watching on a server that dies lists and watches again on the next', async (t) => {
  const p = await pki();
  const [a, b] = [await serve(t, p, 'a', configMapApi(['on-a'])), await serve(t, p, 'b', configMapApi(['on-b']))];
  const transport = failover(t, p, [a, b]);
  const informer = new Informer(new ApiClient(transport.request).resource(configMaps), { namespace: 'default' }).start();
  t.teardown(() => informer.stop());
  await informer.synced();
  await eventually(() => a.seen.some((r) => r.includes('watch=true')), { what: 'the watch on a' });
  t.same(
    informer.list().map((c) => c.metadata?.name),
    ['on-a'],
  );

  await a.kill();
  await eventually(() => informer.get('default/on-b') && !informer.get('default/on-a'), { what: "the informer to hold b's list" });
  await eventually(() => b.seen.some((r) => r.includes('watch=true')), { what: 'the watch to go on at b' });
});

t.test('leaving a server closes its connections: a watch there that still looks alive ends, and is made again on the next', async (t) => {
  const p = await pki();
  const [a, b] = [await serve(t, p, 'a', configMapApi(['on-a'])), await serve(t, p, 'b', configMapApi(['on-b']))];
  const transport = failover(t, p, [a, b]);
  const informer = new Informer(new ApiClient(transport.request).resource(configMaps), { namespace: 'default' }).start();
  t.teardown(() => informer.stop());
  await eventually(() => a.seen.some((r) => r.includes('watch=true')), { what: 'the watch on a' });

  // a takes no new connections, but its watch stays open: only another request finds it gone.
  a.stopListening();
  t.match(await text(transport.request('GET', '/api/v1/namespaces/default/configmaps')), /^200 .*"on-b"/, 'b answers');
  await eventually(() => informer.get('default/on-b') && !informer.get('default/on-a'), { what: "the informer to hold b's list" });
  await eventually(() => b.seen.some((r) => r.includes('watch=true')), { what: 'the watch to go on at b' });
});
