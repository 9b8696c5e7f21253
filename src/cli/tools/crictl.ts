// `skiff crictl`: crictl's everyday commands on the project's own CRI client (Debian ships no crictl),
// against the node's containerd (--runtime-endpoint or CONTAINER_RUNTIME_ENDPOINT to choose another).
// The CRI client loads only when a command runs, so that other commands never load src/cri.
import { type Command as Program, Option } from 'commander';
import type { CriClient } from '../../cri/client.js';
import { UsageError } from '../values.js';
import { type ContainerStats, containersTable, imagesTable, inspection, podsTable, statsTable, structured } from './crictl-format.js';

type Output = 'json' | 'yaml' | 'table';

const outputOption = (formats: Output[], fallback: Output) =>
  new Option('-o, --output <format>', 'output format').choices(formats).default(fallback);

/** A regular expression from the command line (crictl's --name, --namespace), or a usage error. */
function regex(flag: string, pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  try {
    return new RegExp(pattern);
  } catch {
    throw new UsageError(`invalid regular expression "${pattern}" for ${flag}`);
  }
}

function count(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`expected a whole number, got "${text}"`);
  return Number(text);
}

/** crictl's --latest and --last: the newest n of a list sorted newest first. */
function newest<T extends { createdAt: number }>(items: T[], o: { latest?: boolean; last?: number }): T[] {
  const sorted = [...items].sort((a, b) => b.createdAt - a.createdAt);
  return o.latest || o.last ? sorted.slice(0, o.last || 1) : sorted;
}

const write = (text: string) => process.stdout.write(text);

type EnumOf = typeof import('../../cri/client.js').criEnum;

/** Runs `fn` with a client of the endpoint the crictl command (or its environment) names. */
async function withCri<T>(cmd: Program, fn: (cri: CriClient, criEnum: EnumOf) => Promise<T>): Promise<T> {
  const { CriClient, criEnum } = await import('../../cri/client.js');
  const { containerdSocket } = await import('./node-files.js');
  const opts = cmd.optsWithGlobals<{ runtimeEndpoint?: string; timeout: number }>();
  const endpoint = opts.runtimeEndpoint || process.env.CONTAINER_RUNTIME_ENDPOINT || containerdSocket();
  const cri = new CriClient(endpoint, { timeoutMs: opts.timeout * 1000 });
  try {
    return await fn(cri, criEnum);
  } finally {
    cri.close();
  }
}

interface ListOptions {
  quiet?: boolean;
  noTrunc?: boolean;
  output: Output;
  name?: string;
  namespace?: string;
  state?: string;
  latest?: boolean;
  last?: number;
  id?: string;
}

/** crictl's --state word as the CRI state's name. */
function stateName(word: string, states: Record<string, string>): string {
  const state = states[word.toLowerCase()];
  if (!state) throw new UsageError(`--state should be one of ${Object.keys(states).join(', ')}`);
  return state;
}

function ps(crictl: Program): void {
  crictl
    .command('ps')
    .description('list containers (running ones unless -a)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only display container IDs')
    .option('--name <regex>', 'filter by container name regular expression')
    .option('--namespace <regex>', 'filter by pod namespace regular expression')
    .option('-p, --pod <id>', 'filter by pod ID')
    .option('--id <id>', 'filter by container ID')
    .option('-s, --state <state>', 'filter by container state: created, running, exited or unknown')
    .option('-l, --latest', 'show the most recently created container (includes all states)')
    .option('-n, --last <n>', 'show the n most recently created containers (includes all states)', count)
    .option('--no-trunc', 'show whole IDs')
    .addOption(outputOption(['json', 'yaml', 'table'], 'table'))
    .action((o: ListOptions & { all?: boolean; pod?: string; trunc: boolean }, cmd: Program) =>
      withCri(cmd, async (cri, criEnum) => {
        const name = regex('--name', o.name);
        const namespace = regex('--namespace', o.namespace);
        const states = {
          created: 'CONTAINER_CREATED',
          running: 'CONTAINER_RUNNING',
          exited: 'CONTAINER_EXITED',
          unknown: 'CONTAINER_UNKNOWN',
        };
        // Running ones unless -a or --state; --latest and --last look at all, as crictl's.
        const wanted = o.state !== undefined ? stateName(o.state, states) : o.all ? undefined : states.running;
        const state = wanted && !o.latest && !o.last ? { state: criEnum('ContainerState', wanted) } : undefined;
        const found = await cri.listContainers({ id: o.id, podSandboxId: o.pod, state });
        const containers = newest(
          found.filter(
            (c) => (name?.test(c.metadata.name) ?? true) && (namespace?.test(c.labels['io.kubernetes.pod.namespace'] ?? '') ?? true),
          ),
          o,
        );
        write(
          o.output === 'table' ? containersTable(containers, { quiet: o.quiet, noTrunc: !o.trunc }) : structured({ containers }, o.output),
        );
      }),
    );
}

function pods(crictl: Program): void {
  crictl
    .command('pods')
    .description('list pod sandboxes')
    .option('-q, --quiet', 'only display pod IDs')
    .option('--name <regex>', 'filter by pod name regular expression')
    .option('--namespace <regex>', 'filter by pod namespace regular expression')
    .option('--id <id>', 'filter by pod ID')
    .option('-s, --state <state>', 'filter by pod state: ready or notready')
    .option('-l, --latest', 'show the most recently created pod')
    .option('-n, --last <n>', 'show the n most recently created pods', count)
    .option('--no-trunc', 'show whole IDs')
    .addOption(outputOption(['json', 'yaml', 'table'], 'table'))
    .action((o: ListOptions & { trunc: boolean }, cmd: Program) =>
      withCri(cmd, async (cri, criEnum) => {
        const name = regex('--name', o.name);
        const namespace = regex('--namespace', o.namespace);
        const wanted = o.state === undefined ? undefined : stateName(o.state, { ready: 'SANDBOX_READY', notready: 'SANDBOX_NOTREADY' });
        const state = wanted ? { state: criEnum('PodSandboxState', wanted) } : undefined;
        const found = await cri.listPodSandbox({ id: o.id, state });
        const items = newest(
          found.filter((p) => (name?.test(p.metadata.name) ?? true) && (namespace?.test(p.metadata.namespace) ?? true)),
          o,
        );
        write(o.output === 'table' ? podsTable(items, { quiet: o.quiet, noTrunc: !o.trunc }) : structured({ items }, o.output));
      }),
    );
}

function images(crictl: Program): void {
  crictl
    .command('images [repository]')
    .alias('image')
    .alias('img')
    .description('list images')
    .option('-q, --quiet', 'only display image IDs')
    .option('--digests', 'show digests')
    .option('--no-trunc', 'show whole IDs')
    .addOption(outputOption(['json', 'yaml', 'table'], 'table'))
    .action((repository: string | undefined, o: ListOptions & { digests?: boolean; trunc: boolean }, cmd: Program) =>
      withCri(cmd, async (cri) => {
        const found = await cri.listImages(repository ? { image: { image: repository } } : undefined);
        // Sorted as crictl sorts them: by first tag, else first digest, else ID.
        const key = (i: (typeof found)[number]) => i.repoTags[0] ?? i.repoDigests[0] ?? i.id;
        const sorted = [...found].sort((a, b) => key(a).localeCompare(key(b)));
        write(
          o.output === 'table'
            ? imagesTable(sorted, { quiet: o.quiet, noTrunc: !o.trunc, digests: o.digests })
            : structured({ images: sorted }, o.output),
        );
      }),
    );
}

function inspect(crictl: Program): void {
  for (const [name, what, status] of [
    ['inspect', 'containers', (cri: CriClient, id: string) => cri.containerStatus(id, true)],
    ['inspectp', 'pod sandboxes', (cri: CriClient, id: string) => cri.podSandboxStatus(id, true)],
  ] as const) {
    crictl
      .command(`${name} <id...>`)
      .description(`show the status of one or more ${what}`)
      .addOption(outputOption(['json', 'yaml'], 'json'))
      .action((ids: string[], o: { output: 'json' | 'yaml' }, cmd: Program) =>
        withCri(cmd, async (cri) => {
          const answers = [];
          for (const id of ids) answers.push(await status(cri, id));
          write(structured(inspection(answers), o.output));
        }),
      );
  }
}

function logs(crictl: Program): void {
  crictl
    .command('logs <container>')
    .description("print a container's logs")
    .option('-f, --follow', 'follow the log')
    .option('--tail <n>', 'lines from the end of the log to show (default: all)', count)
    .option('-t, --timestamps', 'show timestamps')
    .action((id: string, o: { follow?: boolean; tail?: number; timestamps?: boolean }, cmd: Program) =>
      withCri(cmd, async (cri) => {
        const { containerLog } = await import('../../agent/pods/container-logs.js');
        const { status } = await cri.containerStatus(id);
        if (!status.logPath) throw new Error(`container ${id} has no log file`);
        const running = async () => (await cri.containerStatus(status.id)).status.state === 'CONTAINER_RUNNING';
        const opts = { follow: o.follow, tailLines: o.tail, timestamps: o.timestamps };
        for await (const chunk of containerLog(status.logPath, opts, running, new AbortController().signal)) {
          if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
        }
      }),
    );
}

function exec(crictl: Program): void {
  crictl
    .command('exec <container> <command...>')
    .description('run a command in a running container')
    .option('-i, --interactive', 'keep stdin open (not supported yet: use skiff kubectl exec -it)')
    .option('-t, --tty', 'allocate a terminal (not supported yet: use skiff kubectl exec -it)')
    .option('--timeout <seconds>', 'stop the command after this long (default: no limit)', count, 0)
    .passThroughOptions()
    .action((id: string, command: string[], o: { interactive?: boolean; tty?: boolean; timeout: number }, cmd: Program) => {
      if (o.interactive || o.tty) throw new UsageError('crictl exec -i/-t is not supported yet: use skiff kubectl exec -it');
      return withCri(cmd, async (cri) => {
        // ExecSync's own timeout of 0 means none: the call then waits as long as the command runs.
        const deadline = o.timeout ? o.timeout * 1000 + 10_000 : 2 ** 31 - 1;
        const r = await cri.call<{ stdout: Uint8Array; stderr: Uint8Array; exitCode: number }>(
          'RuntimeService',
          'ExecSync',
          { containerId: id, cmd: command, timeout: o.timeout },
          deadline,
        );
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        process.exitCode = r.exitCode;
      });
    });
}

function stats(crictl: Program): void {
  crictl
    .command('stats [id]')
    .description("list containers' resource use")
    .option('-a, --all', 'show all containers, stopped ones too')
    .option('-p, --pod <id>', 'filter by pod ID')
    .option('-s, --seconds <n>', 'sample over this many seconds', count, 1)
    .addOption(outputOption(['json', 'yaml', 'table'], 'table'))
    .action((id: string | undefined, o: { all?: boolean; pod?: string; seconds: number; output: Output }, cmd: Program) =>
      withCri(cmd, async (cri) => {
        const sample = () => cri.listContainerStats({ id, podSandboxId: o.pod }) as unknown as Promise<ContainerStats[]>;
        const before = await sample();
        if (o.output !== 'table') return void write(structured({ stats: before }, o.output));
        await new Promise((r) => setTimeout(r, o.seconds * 1000));
        write(statsTable(before, await sample(), o.all));
      }),
    );
}

function rmi(crictl: Program): void {
  crictl
    .command('rmi <image...>')
    .description('remove images')
    .action((names: string[], _o: unknown, cmd: Program) =>
      withCri(cmd, async (cri) => {
        for (const name of names) {
          const image = await cri.imageStatus(name);
          if (!image) throw new Error(`no such image ${name}`);
          await cri.removeImage(image.id);
          // An image pulled by digest has no tag: crictl names it by its digest then.
          for (const ref of image.repoTags.length ? image.repoTags : image.repoDigests) write(`Deleted: ${ref}\n`);
        }
      }),
    );
}

function pull(crictl: Program): void {
  crictl
    .command('pull <image>')
    .description('pull an image (through the node registry settings, registries.yaml)')
    .action((image: string, _o: unknown, cmd: Program) =>
      withCri(cmd, async (cri) => {
        write(`Image is up to date for ${await cri.pullImage(image)}\n`);
      }),
    );
}

export function crictlCommand(program: Program): void {
  const crictl = program
    .command('crictl')
    .description("inspect the node's containers, pods and images through CRI, as crictl")
    .option('-r, --runtime-endpoint <endpoint>', "CRI socket (default: $CONTAINER_RUNTIME_ENDPOINT, else the node's containerd)")
    .option('-T, --timeout <seconds>', 'deadline of each call', count, 10)
    .enablePositionalOptions();
  for (const add of [ps, pods, images, inspect, logs, exec, stats, rmi, pull]) add(crictl);
}
