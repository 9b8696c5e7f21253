// `skiff check-config [--data-dir DIR]`: runs the checks of check-config.ts on this machine, prints a
// line per check and exits 1 when something required is missing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Command as Program } from 'commander';
import { resolveSettings } from '../config.js';
import { ingressDisabled } from '../../k8s/ingress.js';
import type { SystemView } from './check-config.js';

/** The ingress's ports, which every node serves unless it is disabled. */
const ingressPorts = (settings: Record<string, unknown>) =>
  ingressDisabled((settings.disable as string[] | undefined) ?? [])
    ? []
    : (['http', 'https'] as const).map((p) => ({
        port: settings[`ingress-${p}-port`] as number,
        protocol: 'tcp' as const,
        what: `the ingress (${p.toUpperCase()})`,
        flag: `--ingress-${p}-port`,
      }));

const readText = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

function kernelConfig(release: string): string | undefined {
  try {
    return zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
  } catch {
    return readText(`/boot/config-${release}`);
  }
}

/** This machine, as the checks see it. */
export function realSystem(): SystemView {
  const release = os.release();
  return {
    read: readText,
    exists: (file) => fs.existsSync(file),
    kernelRelease: release,
    kernelConfig: kernelConfig(release),
    which(name) {
      // sbin too: a user's PATH often lacks it, and nft, ip and runc live there.
      const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
      return dirs.map((d) => path.join(d, name)).find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    },
    freeBytes(dir) {
      const s = fs.statfsSync(dir);
      return s.bavail * s.bsize;
    },
  };
}

export function checkConfigCommand(program: Program): void {
  program
    .command('check-config')
    .description('check that this machine can run a Skiff node: kernel, cgroups, programs, CNI plugins, ports, data dir')
    .option('--data-dir <dir>', 'the data dir to check (default: as skiff server would use)')
    .option('--config <file>', 'the config file of the server or agent')
    .action(async (opts: { dataDir?: string; config?: string }) => {
      const { checkConfig, formatReport } = await import('./check-config.js');
      const { containerdPaths } = await import('../../agent/containerd.js');
      const cli: Record<string, unknown> = {};
      if (opts.dataDir !== undefined) cli['data-dir'] = opts.dataDir;
      if (opts.config !== undefined) cli.config = opts.config;
      const settings = resolveSettings('server', cli);
      const dataDir = path.resolve(settings['data-dir'] as string);
      const results = checkConfig(realSystem(), {
        dataDir,
        cniBinDir: containerdPaths(dataDir).cniBinDir,
        ports: [
          { port: settings['https-listen-port'] as number, protocol: 'tcp', what: 'API server', flag: '--https-listen-port' },
          { port: 10250, protocol: 'tcp', what: "the node's agent", flag: '--kubelet-arg port=N' },
          { port: 8472, protocol: 'udp', what: 'the pod network across nodes (vxlan)' },
          ...ingressPorts(settings),
        ],
      });
      const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
      process.stdout.write(formatReport(results, color));
      if (results.some((r) => r.level === 'fail')) process.exitCode = 1;
    });
}
