import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressRule } from 'kubernetes-types/networking/v1.js';
import t from 'tap';
import { isSkiffIngress } from '../../../src/k8s/ingress.js';
import { RoundRobin, targetsOf } from '../../../src/agent/network/ingress/endpoints.js';
import { buildRoutes, hostMatches, normalHost, pathMatches, route, tlsFor } from '../../../src/agent/network/ingress/routes.js';

const rule = (host: string | undefined, ...paths: [string, string, string][]): IngressRule => ({
  ...(host ? { host } : {}),
  http: { paths: paths.map(([path, pathType, svc]) => ({ path, pathType, backend: { service: { name: svc, port: { number: 80 } } } })) },
});

function ingress(name: string, spec: Ingress['spec'], created = '2026-01-01T00:00:00Z', namespace = 'default'): Ingress {
  return { metadata: { name, namespace, creationTimestamp: created }, spec };
}

const target = (table: ReturnType<typeof buildRoutes>, host: string, path: string) => route(table, host, path)?.service ?? '404';

t.test('Prefix matches whole path elements, Exact only the path itself', async (t) => {
  const cases: [string, boolean, string, boolean][] = [
    ['/', false, '/anything/at/all', true],
    ['/foo', false, '/foo', true],
    ['/foo', false, '/foo/', true],
    ['/foo', false, '/foo/bar', true],
    ['/foo', false, '/foobar', false],
    ['/foo/', false, '/foo', true],
    ['/foo/', false, '/foo/bar', true],
    ['/aaa/bb', false, '/aaa/bbb', false],
    ['/aaa/bbb', false, '/aaa/bbb/', true],
    ['/foo', true, '/foo', true],
    ['/foo', true, '/foo/', false],
    ['/foo/', true, '/foo', false],
  ];
  for (const [path, exact, request, want] of cases)
    t.equal(pathMatches({ path, exact }, request), want, `${exact ? 'Exact' : 'Prefix'} ${path} vs ${request}`);
});

t.test('hosts: exact names, one-label wildcards, no host for all', async (t) => {
  t.ok(hostMatches('foo.bar.com', 'foo.bar.com'));
  t.notOk(hostMatches('foo.bar.com', 'bar.com'));
  t.ok(hostMatches('*.bar.com', 'foo.bar.com'));
  t.notOk(hostMatches('*.bar.com', 'baz.foo.bar.com'), 'a wildcard covers one label only');
  t.notOk(hostMatches('*.bar.com', 'bar.com'));
  t.notOk(hostMatches('*.bar.com', '.bar.com'));
  t.ok(hostMatches('', 'whatever.example'));
  t.equal(normalHost('Foo.Example.COM:8080'), 'foo.example.com');
  t.equal(normalHost('foo.example.com.'), 'foo.example.com');
  t.equal(normalHost('[::1]:80'), '[::1]');
  t.equal(normalHost(undefined), '');
});

t.test('the most specific host, then the longest path, then Exact wins', async (t) => {
  const table = buildRoutes([
    ingress('a', {
      rules: [
        rule('foo.example.com', ['/', 'Prefix', 'foo-root'], ['/api', 'Prefix', 'foo-api'], ['/api', 'Exact', 'foo-api-exact']),
        rule('*.example.com', ['/', 'Prefix', 'wild']),
        rule(undefined, ['/other', 'ImplementationSpecific', 'any-other'], ['/', 'Prefix', 'any']),
      ],
    }),
  ]);
  t.equal(target(table, 'foo.example.com', '/'), 'foo-root');
  t.equal(target(table, 'foo.example.com', '/api'), 'foo-api-exact', 'Exact before Prefix at equal length');
  t.equal(target(table, 'foo.example.com', '/api/v1'), 'foo-api');
  t.equal(target(table, 'foo.example.com', '/apix'), 'foo-root', 'no partial element');
  t.equal(target(table, 'bar.example.com', '/api'), 'wild');
  t.equal(target(table, 'a.b.example.com', '/x'), 'any', 'deeper names fall to the rule without host');
  t.equal(target(table, 'elsewhere.org', '/other/page'), 'any-other', 'ImplementationSpecific is a prefix');
  t.equal(target(table, 'elsewhere.org', '/'), 'any');
});

t.test('a host whose paths do not match falls back to less specific rules, then the default backend, else 404', async (t) => {
  const only = buildRoutes([ingress('a', { rules: [rule('foo.example.com', ['/api', 'Exact', 'api'])] })]);
  t.equal(target(only, 'foo.example.com', '/api'), 'api');
  t.equal(target(only, 'foo.example.com', '/api/x'), '404');
  t.equal(target(only, 'bar.example.com', '/api'), '404');
  const withDefault = buildRoutes([
    ingress('a', { rules: [rule('foo.example.com', ['/api', 'Exact', 'api'])] }),
    ingress('b', { defaultBackend: { service: { name: 'fallback', port: { name: 'web' } } } }, '2026-01-02T00:00:00Z', 'other'),
  ]);
  t.same(route(withDefault, 'bar.example.com', '/'), { namespace: 'other', service: 'fallback', port: 'web' });
});

t.test('the same host and path in two Ingresses go to the older one', async (t) => {
  const newer = ingress('newer', { rules: [rule('x.io', ['/', 'Prefix', 'new'])] }, '2026-02-01T00:00:00Z');
  const older = ingress('older', { rules: [rule('x.io', ['/', 'Prefix', 'old'])] }, '2026-01-01T00:00:00Z');
  t.equal(target(buildRoutes([newer, older]), 'x.io', '/'), 'old');
  t.equal(target(buildRoutes([older, newer]), 'x.io', '/'), 'old');
  const withSlash = ingress('slash', { rules: [rule('x.io', ['/a/', 'Prefix', 'slash'])] }, '2026-03-01T00:00:00Z');
  const without = ingress('plain', { rules: [rule('x.io', ['/a', 'Prefix', 'plain'])] }, '2026-01-01T00:00:00Z');
  t.equal(target(buildRoutes([withSlash, without]), 'x.io', '/a/b'), 'plain', '/a/ and /a are the same prefix');
});

t.test('class: ours by name or annotation, classless ones only while ours is the default', async (t) => {
  const names = new Set(['skiff']);
  const isOurs = (ing: Ingress, isDefault: boolean) => isSkiffIngress(ing, { names, isDefault });
  t.ok(isOurs(ingress('a', { ingressClassName: 'skiff' }), false));
  t.notOk(isOurs(ingress('a', { ingressClassName: 'nginx' }), true));
  t.ok(isOurs({ metadata: { annotations: { 'kubernetes.io/ingress.class': 'skiff' } } }, false));
  t.ok(isOurs(ingress('a', {}), true));
  t.notOk(isOurs(ingress('a', {}), false));
});

t.test('TLS: the entry naming the server name, then a wildcard, then one without hosts', async (t) => {
  const table = buildRoutes([
    ingress('a', {
      tls: [
        { hosts: ['a.example.com'], secretName: 'a-tls' },
        { hosts: ['*.example.com'], secretName: 'wild-tls' },
      ],
    }),
    ingress('b', { tls: [{ secretName: 'any-tls' }] }, '2026-01-02T00:00:00Z', 'b'),
  ]);
  t.equal(tlsFor(table, 'A.example.com')?.secretName, 'a-tls');
  t.equal(tlsFor(table, 'b.example.com')?.secretName, 'wild-tls');
  t.same(tlsFor(table, 'c.d.example.com'), { hosts: [''], namespace: 'b', secretName: 'any-tls' });
  t.equal(tlsFor(buildRoutes([ingress('a', { tls: [{ hosts: ['a.io'], secretName: 's' }] })]), 'b.io'), undefined);
});

t.test('endpoints: the ready addresses of the Service port, by its name, in turn', async (t) => {
  const svc: Service = {
    spec: {
      ports: [
        { name: 'web', port: 80, targetPort: 'http' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    },
  };
  const slice = (ports: { name: string; port: number }[], eps: [string, boolean][], service = 'web'): EndpointSlice => ({
    addressType: 'IPv4',
    metadata: { labels: { 'kubernetes.io/service-name': service } },
    ports,
    endpoints: eps.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
  });
  const slices = [
    slice(
      [{ name: 'web', port: 8080 }],
      [
        ['10.42.0.5', true],
        ['10.42.0.6', false],
      ],
    ),
    slice([{ name: 'web', port: 8080 }], [['10.42.0.4', true]]),
    slice([{ name: 'other', port: 9999 }], [['10.42.0.7', true]]),
    slice([{ name: 'web', port: 7000 }], [['10.42.0.8', true]], 'not-web'),
  ];
  const want = [
    { address: '10.42.0.4', port: 8080 },
    { address: '10.42.0.5', port: 8080 },
  ];
  t.same(targetsOf({ namespace: 'default', service: 'web', port: 80 }, svc, slices), want, 'by number');
  t.same(targetsOf({ namespace: 'default', service: 'web', port: 'web' }, svc, slices), want, 'by name');
  t.equal(targetsOf({ namespace: 'default', service: 'web', port: 81 }, svc, slices), undefined, 'no such port');
  t.equal(targetsOf({ namespace: 'default', service: 'web', port: 53 }, svc, slices), undefined, 'UDP is not proxied');
  t.equal(targetsOf({ namespace: 'default', service: 'web', port: 80 }, undefined, slices), undefined, 'no Service');
  const rr = new RoundRobin();
  t.same(
    [1, 2, 3].map(() => rr.pick('k', want)?.address),
    ['10.42.0.4', '10.42.0.5', '10.42.0.4'],
  );
  t.equal(rr.pick('k', []), undefined);
});
