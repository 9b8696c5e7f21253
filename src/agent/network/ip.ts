// The kernel's network configuration through iproute2's `ip` (Debian's iproute2, on every node):
// links, addresses, routes, neighbours and FDB entries. JSON output for reading, `-batch` for
// writing many changes in one process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class IpError extends Error {}

/** Runs `ip <args>`; a failure says the command and ip's own message. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new IpError(`ip ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** `ip -j <args>`, parsed. */
export async function ipJson<T>(...args: string[]): Promise<T> {
  const out = await ip('-j', ...args);
  return (out.trim() ? JSON.parse(out) : []) as T;
}

/** Applies many commands at once (`ip -batch -`); `-force` goes on past a failed line and reports it. */
export async function ipBatch(lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', ['-force', '-batch', '-'], (err, _stdout, stderr) =>
      err ? reject(new IpError(`ip -batch: ${stderr.trim() || err.message}`)) : resolve(),
    );
    child.stdin!.end(`${lines.join('\n')}\n`);
  });
}
