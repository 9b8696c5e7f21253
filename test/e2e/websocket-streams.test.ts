// exec, attach, cp and port-forward over WebSocket through the API server, which speaks the
// WebSocket protocols itself and reaches the node's containerd over SPDY: kubectl 1.32 (with no
// fallback to SPDY, as its own log shows), @kubernetes/client-node and the Python client, against
// a real node (the server's own agent on containerd).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { freePort, startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { runPythonTests } from '../helpers/python.js';
import { waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const POD = `apiVersion: v1
kind: Pod
metadata: {name: ws}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${BUSYBOX}
    command: [sh, -c, 'mkdir -p /www; echo hello-ws > /www/index.html; echo started; exec httpd -f -vv -p 8080 -h /www']
`;

/**
 * kubectl's -v=8 log says how it streamed: its upgrade was answered with a WebSocket, it never asked
 * for SPDY (which would show X-Stream-Protocol-Version headers and an Upgrade: SPDY/3.1 answer),
 * and it did not fall back (client-go logs each fallback).
 */
function assertWebSocketOnly(t: Test, log: string, what: string): void {
  t.notMatch(log, /fallback/i, `${what}: kubectl did not fall back`);
  t.notMatch(log, /X-Stream-Protocol-Version|Upgrade: SPDY/i, `${what}: no SPDY upgrade was asked for or answered`);
  t.match(log, /Response Status: 101 Switching Protocols[\s\S]*Upgrade: websocket/i, `${what}: the upgrade was answered with a WebSocket`);
}

function spawnKubectl(c: Cluster, args: string[]): ChildProcess & { log: () => string } {
  const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, ...args], {
    env: { PATH: process.env.PATH, HOME: path.dirname(c.kubeconfig) },
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  return Object.assign(child, { log: () => log });
}

t.test('WebSocket exec, attach, cp and port-forward through the API server', async (t) => {
  const c = await startCluster(t, [], { agent: true });
  // Last registered, first run: the pod goes through the API while the agent still runs.
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  t.equal((await c.kubectl(['apply', '-f', '-'], { input: POD })).code, 0);
  await c.k('wait', '--for=condition=Ready', 'pod/ws', '--timeout=180s');
  const podIP = await c.k('get', 'pod', 'ws', '-o', 'jsonpath={.status.podIP}');

  t.test('kubectl exec: stdout, stderr and the exit code', async (t) => {
    const r = await c.kubectl(['exec', '-v=8', 'ws', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    t.equal(r.code, 3, 'kubectl exits with the command exit code');
    t.equal(r.stdout, 'out\n');
    t.match(r.stderr, /^err$/m);
    t.match(r.stderr, /command terminated with exit code 3/);
    t.match(r.stderr, /Sec-Websocket-Protocol: v5\.channel\.k8s\.io/i, 'kubectl offered v5');
    assertWebSocketOnly(t, r.stderr, 'exec');
    t.equal(await c.k('exec', 'ws', '--', 'cat', '/www/index.html'), 'hello-ws\n');
  });

  t.test('kubectl exec -i: stdin that ends (the v5 close signal)', async (t) => {
    const r = await c.kubectl(['exec', '-v=8', '-i', 'ws', '--', 'cat'], { input: 'piped in\nand more\n' });
    t.equal(r.code, 0, r.stderr.slice(-2000));
    t.equal(r.stdout, 'piped in\nand more\n');
    assertWebSocketOnly(t, r.stderr, 'exec -i');
    const wc = await c.kubectl(['exec', '-i', 'ws', '--', 'busybox', 'wc', '-c'], { input: 'x'.repeat(300_000) });
    t.equal(wc.stdout.trim(), '300000', 'a larger stdin arrives whole');
  });

  t.test('kubectl cp both ways, a file over 1 MiB', async (t) => {
    const dir = tempDir(t, 'skiff-ws-cp-');
    const file = path.join(dir, 'big.bin');
    const content = crypto.randomBytes(1536 * 1024 + 7);
    fs.writeFileSync(file, content);
    const up = await c.kubectl(['cp', '-v=8', file, 'default/ws:/tmp/big.bin']);
    t.equal(up.code, 0, up.stderr.slice(-2000));
    assertWebSocketOnly(t, up.stderr, 'cp to the pod');
    t.equal((await c.k('exec', 'ws', '--', 'busybox', 'wc', '-c', '/tmp/big.bin')).trim(), `${content.length} /tmp/big.bin`);
    const back = path.join(dir, 'back.bin');
    const down = await c.kubectl(['cp', '-v=8', 'default/ws:/tmp/big.bin', back]);
    t.equal(down.code, 0, down.stderr.slice(-2000));
    assertWebSocketOnly(t, down.stderr, 'cp from the pod');
    t.ok(fs.readFileSync(back).equals(content), 'the copy back is the same bytes');
  });

  t.test('kubectl attach sees what the container writes', async (t) => {
    const attach = spawnKubectl(c, ['attach', '-v=8', 'ws']);
    t.teardown(() => attach.kill());
    const seen = await eventually(
      async () => {
        await fetch(`http://${podIP}:8080/attached`).catch(() => undefined);
        return attach.log().includes('/attached') ? 'seen' : undefined;
      },
      { timeout: 60_000 },
    );
    t.equal(seen, 'seen', 'httpd -vv logs the request, and attach shows it');
    assertWebSocketOnly(t, attach.log(), 'attach');
  });

  t.test('kubectl port-forward (SPDY tunnelled in WebSocket)', async (t) => {
    const local = await freePort();
    const pf = spawnKubectl(c, ['port-forward', '-v=8', 'pod/ws', `${local}:8080`]);
    t.teardown(() => pf.kill());
    await waitForLine(pf, /Forwarding from 127\.0\.0\.1/);
    t.equal(await (await fetch(`http://127.0.0.1:${local}/`)).text(), 'hello-ws\n');
    t.equal(
      await (await fetch(`http://127.0.0.1:${local}/`, { headers: { connection: 'close' } })).text(),
      'hello-ws\n',
      'a second connection too',
    );
    t.match(pf.log(), /Sec-Websocket-Protocol: SPDY\/3\.1\+portforward\.k8s\.io/i);
    assertWebSocketOnly(t, pf.log(), 'port-forward');
  });

  t.test('bad requests get a Status, not an upgrade', async (t) => {
    const wrong = await c.kubectl(['exec', 'ws', '-c', 'nope', '--', 'true']);
    t.not(wrong.code, 0);
    t.match(wrong.stderr, /container nope is not valid for pod ws/);
    const missing = await c.kubectl(['exec', 'absent', '--', 'true']);
    t.match(missing.stderr, /pods "absent" not found/);
    // A WebSocket client that asks for what nobody speaks, or forgets the ports, gets a 400 Status.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const refused = async (path: string, protocols: string[]) => {
      const opts: Record<string, unknown> = {};
      await kc.applyToHTTPSOptions(opts);
      const ws = new WebSocket(`wss://127.0.0.1:${c.port}${path}`, protocols, opts);
      return new Promise<{ code?: number; body: any }>((resolve) => {
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d)).on('end', () => resolve({ code: res.statusCode, body: JSON.parse(body) }));
        });
        ws.on('open', () => resolve({ body: 'upgraded' }));
        ws.on('error', () => {});
      });
    };
    t.match(await refused('/api/v1/namespaces/default/pods/ws/exec?command=true&stdout=true', ['v9.channel.k8s.io']), {
      code: 400,
      body: { kind: 'Status', reason: 'BadRequest', message: /requested protocol\(s\) are not supported/ },
    });
    t.match(await refused('/api/v1/namespaces/default/pods/ws/portforward', ['v4.channel.k8s.io']), {
      code: 400,
      body: { kind: 'Status', message: /"ports" is required/ },
    });
    t.match(await refused('/api/v1/namespaces/default/pods/ws/exec?command=true&stdout=maybe', ['v5.channel.k8s.io']), {
      code: 400,
      body: { kind: 'Status', message: /stdout/ },
    });
  });

  t.test('@kubernetes/client-node Exec and PortForward', async (t) => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const collect = () => {
      const chunks: Buffer[] = [];
      const w = new Writable({
        write: (chunk, _enc, done) => {
          chunks.push(Buffer.from(chunk));
          done();
        },
      });
      return Object.assign(w, { text: () => Buffer.concat(chunks).toString() });
    };
    const run = (cmd: string[], stdin: Readable | null) => {
      const out = collect();
      const err = collect();
      return new Promise<{ out: string; err: string; status: any }>((resolve, reject) => {
        new k8s.Exec(kc)
          .exec('default', 'ws', 'main', cmd, out, err, stdin, false, (status) => resolve({ out: out.text(), err: err.text(), status }))
          .catch(reject);
      });
    };
    const failed = await run(['sh', '-c', 'echo from client-node; echo oops >&2; exit 2'], null);
    t.equal(failed.out, 'from client-node\n');
    t.equal(failed.err, 'oops\n');
    t.match(failed.status, { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '2' }] } });
    const ok = await run(['cat'], Readable.from([Buffer.from('stdin from client-node\n')]));
    t.equal(ok.out, 'stdin from client-node\n', 'stdin ends with the v5 close signal and cat finishes');
    t.match(ok.status, { status: 'Success' });

    const output = collect();
    const input = new PassThrough();
    const ws = (await new k8s.PortForward(kc).portForward('default', 'ws', [8080], output, null, input)) as unknown as {
      on(e: string, f: () => void): void;
      protocol: string;
    };
    const closed = new Promise<void>((resolve) => ws.on('close', resolve));
    input.write('GET / HTTP/1.0\r\nHost: pod\r\n\r\n');
    await closed;
    t.equal(ws.protocol, 'v4.channel.k8s.io');
    t.match(
      output.text(),
      /^HTTP\/1\.[01] 200 OK[\s\S]*\r\n\r\nhello-ws\n$/,
      'the answer came back, and the socket closed when the pod closed the connection',
    );
    input.end();
  });

  t.test('the Python client: exec (channels, exit codes, stdin) and port-forward', async (t) => {
    await runPythonTests(t, 'test_streams', { KUBECONFIG: c.kubeconfig, POD: 'ws', PORT: '8080' });
  });
});
