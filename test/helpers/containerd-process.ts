// The agent's containerd supervisor in a process of its own, so a test can kill it as the OOM killer
// would kill an agent. Usage: node --import tsx test/helpers/containerd-process.ts <dir>
// (root, state, socket and log under <dir>, as test/helpers/containerd.ts lays them out).
import path from 'node:path';
import { ContainerdSupervisor } from '../../src/agent/containerd.js';

const dir = process.argv[2]!;
const supervisor = new ContainerdSupervisor(
  {
    root: path.join(dir, 'root'),
    state: path.join(dir, 'state'),
    socket: path.join(dir, 'c.sock'),
    cniBinDir: '/usr/lib/cni',
    cniConfDir: path.join(dir, 'cni'),
    pauseImage: 'skiff.local/pause:test',
  },
  path.join(dir, 'containerd.log'),
);
await supervisor.start();
console.log(`containerd ready ${supervisor.pid}`);
process.on('SIGTERM', () => void supervisor.stop().then(() => process.exit(0)));
