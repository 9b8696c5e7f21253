// A package that ships both an ES module and a CommonJS build is bundled twice when one part of the
// program imports it and another requires it: two copies to read at every start, and two states
// (luxon's Settings, which the server sets, would reach only one). This plugin resolves both to the
// CommonJS build.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const DUAL = ['luxon'];

export const oneCopy = {
  name: 'one-copy',
  setup(build) {
    const filter = new RegExp(`^(${DUAL.join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: require.resolve(args.path) }));
  },
};
