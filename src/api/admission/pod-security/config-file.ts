// The cluster's Pod Security defaults and exemptions, read from the AdmissionConfiguration file that
// kube-apiserver takes as --admission-control-config-file (on K3s: --kube-apiserver-arg
// admission-control-config-file=PATH): its PodSecurity plugin entry holds a PodSecurityConfiguration,
// inline or in a file of its own (`path`, relative to the admission file).
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { PodSecurityConfig } from './admission.js';
import { LABEL_PREFIX, MODES, policyFromLabels } from './policy.js';

const ADMISSION_KIND = 'AdmissionConfiguration';
const ADMISSION_VERSIONS = ['apiserver.config.k8s.io/v1', 'apiserver.k8s.io/v1alpha1'];
const POD_SECURITY_KIND = 'PodSecurityConfiguration';
const POD_SECURITY_GROUP = 'pod-security.admission.config.k8s.io';
const POD_SECURITY_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'].map((v) => `${POD_SECURITY_GROUP}/${v}`);
const EXEMPTIONS = ['usernames', 'namespaces', 'runtimeClasses'] as const;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`admission config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parse(text);
  } catch (e) {
    throw new Error(`admission config ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

function expectKind(doc: unknown, file: string, kind: string, versions: string[]): Json {
  if (!isObject(doc) || doc.kind !== kind || !versions.includes(String(doc.apiVersion)))
    throw new Error(`admission config ${file}: expected kind ${kind} of ${versions.join(' or ')}`);
  return doc;
}

/** The PodSecurityConfiguration's defaults (upstream's keys: enforce, enforce-version, ...) as a policy. */
function defaultsOf(config: Json, file: string): PodSecurityConfig['defaults'] {
  const given = config.defaults ?? {};
  if (!isObject(given)) throw new Error(`admission config ${file}: defaults must be a map`);
  const keys = MODES.flatMap((m) => [m, `${m}-version`]);
  const unknown = Object.keys(given).filter((k) => !keys.includes(k));
  if (unknown.length) throw new Error(`admission config ${file}: unknown field "defaults.${unknown[0]}"`);
  for (const [key, value] of Object.entries(given)) {
    const [error] = policyFromLabels({ [`${LABEL_PREFIX}${key}`]: value }).errors;
    if (error) throw new Error(`admission config ${file}: defaults.${key}: ${error.detail}`);
  }
  const { policy } = policyFromLabels(Object.fromEntries(Object.entries(given).map(([k, v]) => [`${LABEL_PREFIX}${k}`, v])));
  return policy;
}

function exemptionsOf(config: Json, file: string): PodSecurityConfig['exemptions'] {
  const given = config.exemptions ?? {};
  if (!isObject(given)) throw new Error(`admission config ${file}: exemptions must be a map`);
  const exemptions: NonNullable<PodSecurityConfig['exemptions']> = {};
  for (const key of EXEMPTIONS) {
    const list = given[key] ?? [];
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v === ''))
      throw new Error(`admission config ${file}: exemptions.${key} must be a list of names`);
    exemptions[key] = list as string[];
  }
  return exemptions;
}

/** Pod Security's settings from an AdmissionConfiguration file; a file without a PodSecurity entry keeps upstream's defaults. */
export function readPodSecurityConfig(file: string): PodSecurityConfig {
  const admission = expectKind(readYaml(file), file, ADMISSION_KIND, ADMISSION_VERSIONS);
  const plugins = admission.plugins ?? [];
  if (!Array.isArray(plugins)) throw new Error(`admission config ${file}: plugins must be a list`);
  const entry = plugins.find((p) => isObject(p) && p.name === 'PodSecurity') as Json | undefined;
  if (!entry) return {};
  let source = file;
  let configuration = entry.configuration;
  if (configuration === undefined && typeof entry.path === 'string') {
    source = path.resolve(path.dirname(file), entry.path);
    configuration = readYaml(source);
  }
  const config = expectKind(configuration, source, POD_SECURITY_KIND, POD_SECURITY_VERSIONS);
  return { defaults: defaultsOf(config, source), exemptions: exemptionsOf(config, source) };
}
