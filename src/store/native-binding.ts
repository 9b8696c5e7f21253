// Placeholder until the single-executable build lands: from a checkout, better-sqlite3 finds its addon.
export function nativeBinding(): string | undefined {
  return undefined;
}
