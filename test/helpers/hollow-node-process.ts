// A hollow node in a process of its own, so a test can kill it like a machine that dies.
// Usage: node --import tsx test/helpers/hollow-node-process.ts <kubeconfig> <options as JSON>
import { HollowNode, type HollowNodeOptions } from '../../src/agent/hollow-node.js';
import { loadKubeconfig } from '../../src/client/kubeconfig.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { httpsTransport } from '../../src/client/transport.js';

const [kubeconfig, json] = process.argv.slice(2);
const opts = JSON.parse(json!) as HollowNodeOptions;
const node = new HollowNode(new ApiClient(httpsTransport(loadKubeconfig(kubeconfig!))), opts);
await node.start();
console.log(`hollow node ${opts.name} ready`);
process.on('SIGTERM', () => {
  node.stop();
  process.exit(0);
});
