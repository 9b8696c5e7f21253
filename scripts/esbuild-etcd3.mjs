// etcd3 reads etcd's gRPC protocol (rpc.proto, beside its code in node_modules) when it is loaded,
// and neither dist/skiff.js nor the single executable carries that file: this esbuild plugin puts
// the protocol into the bundle as JSON, parsed at build time with etcd's own field names.
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';

// biome-ignore lint/suspicious/noTemplateCurlyInString: etcd3's code, as it is written
const LOAD = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,';

export const etcd3Proto = {
  name: 'etcd3-proto',
  setup(build) {
    build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      if (!source.includes(LOAD)) throw new Error(`${args.path}: etcd3 no longer loads rpc.proto the way this plugin expects`);
      const root = new protobuf.Root().loadSync(path.join(path.dirname(args.path), '../proto/rpc.proto'), { keepCase: true });
      return { contents: source.replace(LOAD, `(0, proto_loader_1.fromJSON)(${JSON.stringify(root.toJSON())},`), loader: 'js' };
    });
  },
};
