// Merge the three sources of settings: command line > SKIFF_* environment > config file > default.
import fs from 'node:fs';
import YAML from 'yaml';
import { flags, flagsFor, type Command } from './flags.js';
import { parseFlagValue, UsageError, whyUnreadable, type FlagValue } from './values.js';

export type Settings = Record<string, FlagValue | undefined>;

export function envName(flag: string): string {
  return `SKIFF_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function readConfigFile(file: string, explicit: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw new UsageError(`cannot read config file ${file}: ${whyUnreadable(err)}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`config file ${file} must be a mapping of flag names to values`);
  }
  const known = new Set(flags.map((f) => f.name));
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) throw new UsageError(`config file ${file}: unknown key "${key}"`);
  }
  return doc as Record<string, unknown>;
}

/** `cli` holds the values given on the command line, keyed by long flag name. */
export function resolveSettings(command: Command, cli: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Settings {
  const specs = flagsFor(command);
  const configSpec = specs.find((f) => f.name === 'config')!;
  const configFromEnv = env[envName('config')];
  const configPath = (cli.config ?? configFromEnv ?? configSpec.default!()) as string;
  const file = readConfigFile(configPath, cli.config !== undefined || configFromEnv !== undefined);

  const settings: Settings = {};
  for (const spec of specs) {
    const fromEnv = env[envName(spec.name)];
    if (cli[spec.name] !== undefined) settings[spec.name] = parseFlagValue(spec, cli[spec.name], 'command line');
    else if (fromEnv !== undefined) settings[spec.name] = parseFlagValue(spec, fromEnv, `environment ${envName(spec.name)}`);
    else if (file[spec.name] !== undefined) settings[spec.name] = parseFlagValue(spec, file[spec.name], `config file ${configPath}`);
    else settings[spec.name] = spec.default?.();
  }
  settings.config = configPath;
  return settings;
}
