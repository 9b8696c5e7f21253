// The watch stream's JSON lines, cut into network chunks anywhere, come back as whole events.
import t from 'tap';
import { WatchDecoder } from '../../src/dashboard/watch-stream.js';

const ev = (type: string, name: string, rv: string) => JSON.stringify({ type, object: { metadata: { name, resourceVersion: rv } } });

t.test('events split across chunks, even inside a multi-byte character, are whole again', async (t) => {
  const text = `${ev('ADDED', 'a', '1')}\n${ev('MODIFIED', 'é-ü', '2')}\n\n${ev('DELETED', 'a', '3')}\n`;
  const bytes = new TextEncoder().encode(text);
  for (const size of [1, 2, 7, 64, bytes.length]) {
    const decoder = new WatchDecoder();
    const got = [];
    for (let i = 0; i < bytes.length; i += size) got.push(...decoder.push(bytes.subarray(i, i + size)));
    got.push(...decoder.end());
    t.same(
      got.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`),
      ['ADDED a 1', 'MODIFIED é-ü 2', 'DELETED a 3'],
      `chunks of ${size} bytes`,
    );
  }
});

t.test('a partial line waits for its end; a last line without newline counts at the end', async (t) => {
  const decoder = new WatchDecoder();
  const line = ev('ADDED', 'x', '5');
  t.same(decoder.push(line.slice(0, 10)), [], 'nothing before the line ends');
  t.same(decoder.push(line.slice(10)), [], 'still no newline');
  t.equal(decoder.end().length, 1, 'the stream ending completes it');
});

t.test('a line that is not a watch event is an error', async (t) => {
  t.throws(() => new WatchDecoder().push('{"kind":"Status"}\n'), /not a watch event/);
  t.throws(() => new WatchDecoder().push('not json\n'));
});
