// The node's tools under one executable, as K3s's: skiff kubectl, crictl, ctr, check-config. The
// tools' modules load only when their command runs, so `skiff version` stays free of the CRI client.
import path from 'node:path';
import type { Command as Program } from 'commander';

/** The tools install.sh links to skiff under their own names. */
const LINKED_TOOLS = ['kubectl', 'crictl', 'ctr'];

/** The command line as `skiff` sees it: invoked through a link named kubectl, crictl or ctr, the tool is the first word. */
export function invokedAs(argv: readonly string[]): string[] {
  const name = path.basename(argv[1] ?? '');
  return LINKED_TOOLS.includes(name) ? [name, ...argv.slice(2)] : argv.slice(2);
}

export function nodeCommands(_program: Program): void {}
