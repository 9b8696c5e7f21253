#!/usr/bin/env node
// `skiff`: one executable, several roles. Parses the command line and hands over to a role.
import { Command as Program, CommanderError, Option } from 'commander';
import { flagsFor, type Command, type FlagSpec } from './flags.js';
import { resolveSettings, envName, type Settings } from './config.js';
import { UsageError } from './values.js';
import { versionText } from './version.js';
import { secretsEncryptCommand } from './secrets-encrypt.js';
import { tokenCommand } from './token.js';
import { snapshotCommand } from './snapshot.js';
import { certificateCommand } from './certificate.js';
import { invokedAs, nodeCommands } from './node-commands.js';
import { agentConfig, logConfig, serverConfig } from './role-config.js';
import { StoreOpenError } from '../store/errors.js';
import { ConfigError } from '../k8s/config-error.js';
import { configureLog } from '../log.js';

type Runner = (settings: Settings) => Promise<void>;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function optionFor(spec: FlagSpec): Option {
  const valueName = spec.kind === 'bool' ? '' : spec.kind === 'list' ? ' <value>' : ' <value>';
  const opt = new Option(`--${spec.name}${valueName}`, `${spec.description} [$${envName(spec.name)}]`);
  if (spec.kind === 'list') opt.argParser(collect);
  return opt;
}

function roleCommand(program: Program, name: Command, summary: string, run: Runner): void {
  const specs = flagsFor(name);
  const cmd = program.command(name).description(summary);
  for (const spec of specs) cmd.addOption(optionFor(spec));
  cmd.action(async (opts: Record<string, unknown>) => {
    const cli: Record<string, unknown> = {};
    for (const spec of specs) {
      const attr = new Option(`--${spec.name}`).attributeName();
      if (opts[attr] !== undefined) cli[spec.name] = opts[attr];
    }
    const settings = resolveSettings(name, cli);
    await configureLog(logConfig(settings));
    await run(settings);
    // Stopped in order (a signal, or a one-time task such as --cluster-reset done): exit now rather
    // than when the last handle a library keeps open goes; a stopped agent still running would hold
    // `systemctl stop` (and a test waiting for its exit) until a timeout.
    process.exit(0);
  });
}

export async function main(argv: string[]): Promise<number> {
  const program = new Program('skiff')
    .description('Skiff: a lightweight Kubernetes for small machines')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`skiff: ${str.replace(/^error: /, '')}`) })
    .showSuggestionAfterError(true);

  program
    .command('version')
    .description('print the version, git commit, Node.js version and platform')
    .action(() => {
      process.stdout.write(versionText());
    });
  roleCommand(program, 'server', 'run the control plane (and a local agent unless --disable-agent)', async (s) => {
    const { runServer } = await import('../server/server.js');
    await runServer(serverConfig(s));
  });
  roleCommand(program, 'agent', 'run a node that joins a server', async (s) => {
    const { runAgent } = await import('../agent/agent.js');
    await runAgent(agentConfig(s));
  });
  secretsEncryptCommand(program);
  tokenCommand(program);
  snapshotCommand(program);
  certificateCommand(program);
  nodeCommands(program);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`skiff: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StoreOpenError) {
      process.stderr.write(`skiff: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

main(invokedAs(process.argv)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    // One line for the user; the stack only when asked for with --debug.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`skiff: ${message.split('\n')[0]}\n`);
    if (process.argv.includes('--debug') && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
