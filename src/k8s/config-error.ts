/**
 * A setting the user gave is wrong (a bad --node-label, a --cluster-dns outside --service-cidr, ...).
 * Server and agent throw it while checking their configuration, before they open anything; the
 * command line prints its message as one line and exits 2, as for any other bad input.
 */
export class ConfigError extends Error {}

/** Runs a parser of a setting, turning what it throws into a ConfigError with the same message. */
export function checkSetting<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
