// What the built-in addons cost an idle node: a real one-node cluster (server and agent processes,
// containerd) started with everything on, then with `--disable` of each addon, then with all of them
// off; for each, the server's and agent's RSS and idle CPU over a quiet window after start-up.
//   npm run bench:addons -- [window seconds, default 20]
import os from 'node:os';
import { cpuSeconds, rssMiB, sleep, startBenchNode } from './bench-node.js';

const WINDOW_S = Number(process.argv[2] ?? 20);
const SETTLE_MS = 5000;
const ADDONS = ['local-storage', 'metrics-server', 'ingress', 'dashboard'];
const RUNS: { name: string; disable: string[] }[] = [
  { name: 'everything on', disable: [] },
  ...ADDONS.map((a) => ({ name: `--disable ${a}`, disable: [a] })),
  { name: 'all four off', disable: ADDONS },
];

interface Figures {
  serverRss: number;
  agentRss: number;
  serverCpu: number;
  agentCpu: number;
}

async function measure(disable: string[]): Promise<Figures> {
  const args = disable.length ? ['--disable', disable.join(',')] : [];
  const node = await startBenchNode({ serverArgs: args });
  try {
    await sleep(SETTLE_MS);
    const pids = { server: node.server.pid!, agent: node.agent.pid! };
    const before = { server: cpuSeconds(pids.server), agent: cpuSeconds(pids.agent) };
    await sleep(WINDOW_S * 1000);
    const percent = (pid: number, start: number) => ((cpuSeconds(pid) - start) / WINDOW_S) * 100;
    return {
      serverRss: rssMiB(pids.server),
      agentRss: rssMiB(pids.agent),
      serverCpu: percent(pids.server, before.server),
      agentCpu: percent(pids.agent, before.agent),
    };
  } finally {
    await node.stop();
  }
}

console.log(
  `bench:addons — one idle node, ${os.cpus().length} CPUs, node ${process.version}; ` +
    `CPU over ${WINDOW_S} s after a ${SETTLE_MS / 1000} s settle`,
);
const rows: [string, Figures][] = [];
for (const run of RUNS) rows.push([run.name, await measure(run.disable)]);
const base = rows[rows.length - 1]![1];
const cell = (v: number, b: number, unit: string, digits: number) =>
  `${v.toFixed(digits)}${unit} (${v - b >= 0 ? '+' : ''}${(v - b).toFixed(digits)})`;
console.log(
  `${''.padEnd(24)}${'server RSS'.padStart(20)}${'agent RSS'.padStart(20)}${'server CPU'.padStart(20)}${'agent CPU'.padStart(20)}`,
);
for (const [name, f] of rows)
  console.log(
    name.padEnd(24) +
      cell(f.serverRss, base.serverRss, ' MiB', 1).padStart(20) +
      cell(f.agentRss, base.agentRss, ' MiB', 1).padStart(20) +
      cell(f.serverCpu, base.serverCpu, '%', 2).padStart(20) +
      cell(f.agentCpu, base.agentCpu, '%', 2).padStart(20),
  );
console.log('(in brackets: the difference to all four off, the baseline measured in the same run)');
