// The set of served kinds. Built-in kinds are registered at start; custom kinds follow their CRDs.
import { apiVersionOf } from '../../k8s/object.js';
import type { ResourceDef } from './types.js';

export interface GroupVersion {
  group: string;
  version: string;
}

export class Registry {
  private readonly defs: ResourceDef[] = [];
  /** Bumped on every change, so derived documents (discovery, OpenAPI) know when to rebuild. */
  generation = 0;
  private readonly listeners = new Set<() => void>();

  constructor(defs: ResourceDef[] = []) {
    for (const def of defs) this.add(def);
  }

  add(def: ResourceDef): void {
    this.remove(def.group, def.version, def.plural);
    this.defs.push(def);
    this.changed();
  }

  remove(group: string, version: string, plural: string): void {
    const i = this.defs.findIndex((d) => d.group === group && d.version === version && d.plural === plural);
    if (i >= 0) this.defs.splice(i, 1);
    this.changed();
  }

  /** Calls `listener` after every change (custom kinds coming and going); returns how to stop. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.generation++;
    for (const l of this.listeners) l();
  }

  all(): readonly ResourceDef[] {
    return this.defs;
  }

  byResource(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.defs.find((d) => d.group === group && d.version === version && d.plural === plural);
  }

  byKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.defs.find((d) => apiVersionOf(d.group, d.version) === apiVersion && d.kind === kind);
  }

  /** Group-versions in the order they were first registered (the first version of a group is preferred). */
  groupVersions(): GroupVersion[] {
    const seen = new Map<string, GroupVersion>();
    for (const d of this.defs) seen.set(apiVersionOf(d.group, d.version), { group: d.group, version: d.version });
    return [...seen.values()];
  }

  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.defs.filter((d) => d.group === group && d.version === version);
  }
}
