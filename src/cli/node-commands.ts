// The node's tools under one executable, as K3s's: skiff kubectl, crictl, ctr, check-config. The
// tools' modules load only when their command runs, so `skiff version` stays free of the CRI client.
import path from 'node:path';
import type { Command as Program } from 'commander';
import { crictlCommand } from './tools/crictl.js';
import { checkConfigCommand } from './tools/check-config-command.js';

/** The tools install.sh links to skiff under their own names. */
const LINKED_TOOLS = ['kubectl', 'crictl', 'ctr'];

/** The command line as `skiff` sees it: invoked through a link named kubectl, crictl or ctr, the tool is the first word. */
export function invokedAs(argv: readonly string[]): string[] {
  const name = path.basename(argv[1] ?? '');
  return LINKED_TOOLS.includes(name) ? [name, ...argv.slice(2)] : argv.slice(2);
}

/** A command whose every argument, --help included, belongs to the program it runs. */
function passThrough(program: Program, name: string, summary: string, run: () => Promise<(args: string[]) => Promise<number>>): void {
  program
    .command(name)
    .description(summary)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]')
    .action(async (args: string[]) => {
      process.exitCode = await (await run())(args);
    });
}

export function nodeCommands(program: Program): void {
  // Options after a command's name are that command's: kubectl's and ctr's reach them untouched.
  program.enablePositionalOptions();
  passThrough(
    program,
    'kubectl',
    'run kubectl with the admin kubeconfig (unless $KUBECONFIG is set)',
    async () => (await import('./tools/kubectl.js')).kubectl,
  );
  passThrough(
    program,
    'ctr',
    "run containerd's ctr on the node's containerd, namespace k8s.io",
    async () => (await import('./tools/ctr.js')).ctr,
  );
  crictlCommand(program);
  checkConfigCommand(program);
}
