// containerd's configuration and the CNI network as the agent writes them (no containerd runs here;
// the supervisor against a real one: test/cri/containerd-supervisor.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { containerdConfig, containerdPaths } from '../../src/agent/containerd.js';
import { readRegistries } from '../../src/agent/registries.js';
import { tempDir } from '../helpers/tmp.js';

t.test('the generated config: paths, pause image, CNI dirs, oom clamp, registries from registries.yaml', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, 'registries.yaml'),
    'mirrors:\n  docker.io:\n    endpoint:\n      - "https://mirror.local:5000"\n' +
      'configs:\n  mirror.local:5000:\n    auth: {username: u, password: p}\n',
  );
  const paths = containerdPaths('/var/lib/skiff', '/run/skiff');
  t.same(paths, {
    root: '/var/lib/skiff/agent/containerd',
    state: '/run/skiff/containerd',
    socket: '/run/skiff/containerd/containerd.sock',
    cniBinDir: '/usr/lib/cni',
    cniConfDir: '/var/lib/skiff/agent/etc/cni/net.d',
  });
  const config = containerdConfig({
    ...paths,
    pauseImage: 'skiff.local/pause:1',
    registries: readRegistries(path.join(dir, 'registries.yaml')),
  });
  t.match(config, /^root = "\/var\/lib\/skiff\/agent\/containerd"$/m);
  t.match(config, /^ {2}address = "\/run\/skiff\/containerd\/containerd.sock"$/m);
  t.match(config, /^ {2}sandbox_image = "skiff.local\/pause:1"$/m);
  t.match(config, /^ {2}restrict_oom_score_adj = true$/m);
  t.match(config, /^ {4}conf_dir = "\/var\/lib\/skiff\/agent\/etc\/cni\/net.d"$/m);
  t.match(config, /registry\]\n {4}config_path = "\/var\/lib\/skiff\/agent\/containerd\/certs.d"\n/);
  t.match(config, /registry\.configs\."mirror\.local:5000"\.auth\]\n {4}username = "u"\n {4}password = "p"\n/);
  t.same(readRegistries(path.join(dir, 'absent.yaml')), { mirrors: {}, configs: {} });
});

t.test('the CNI network for a node: bridge, host-local from its pod range, gateway, masquerade, portmap', async (t) => {
  const { cniConflist, writeCniConfig } = await import('../../src/agent/cni.js');
  const conf = cniConflist({ podCIDR: '10.42.3.0/24', ipamDataDir: '/var/lib/skiff/agent/cni' }) as any;
  t.match(conf, {
    cniVersion: '0.4.0',
    name: 'skiff',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.42.3.0/24' }]], dataDir: '/var/lib/skiff/agent/cni' },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  const dir = tempDir(t);
  const file = writeCniConfig(path.join(dir, 'net.d'), { podCIDR: '10.42.3.0/24', ipamDataDir: dir });
  t.equal(path.basename(file), '10-skiff.conflist');
  t.same(JSON.parse(fs.readFileSync(file, 'utf8')), cniConflist({ podCIDR: '10.42.3.0/24', ipamDataDir: dir }));
});
