// Names the ingress's parts agree on: the server's IngressClass, the status controller, the Node
// authorizer (a node may read the TLS Secrets of these Ingresses) and each node's proxy.
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';

/** The class the server makes, and its controller name (IngressClass.spec.controller). */
export const INGRESS_CLASS = 'skiff';
export const INGRESS_CONTROLLER = 'skiff.io/ingress';
export const IS_DEFAULT_INGRESS_CLASS = 'ingressclass.kubernetes.io/is-default-class';
/** The --disable names that switch the ingress off (K3s's name for its ingress is traefik). */
export const INGRESS_DISABLE_NAMES = ['ingress', 'traefik'];

export const ingressDisabled = (disabled: string[]) => disabled.some((d) => INGRESS_DISABLE_NAMES.includes(d));

/** The class an Ingress asks for: spec.ingressClassName, else the old annotation; undefined for none. */
export const classOf = (ing: Ingress): string | undefined =>
  ing.spec?.ingressClassName ?? ing.metadata?.annotations?.['kubernetes.io/ingress.class'];

/** Skiff's classes among `all`, and whether one of them is the cluster's default (then classless Ingresses are Skiff's). */
export function skiffClasses(all: IngressClass[]): { names: Set<string>; isDefault: boolean } {
  const ours = all.filter((c) => c.spec?.controller === INGRESS_CONTROLLER);
  return {
    names: new Set(ours.map((c) => c.metadata?.name ?? '')),
    isDefault: ours.some((c) => c.metadata?.annotations?.[IS_DEFAULT_INGRESS_CLASS] === 'true'),
  };
}

/** Whether an Ingress is served by Skiff's ingress. */
export function isSkiffIngress(ing: Ingress, classes: { names: Set<string>; isDefault: boolean }): boolean {
  const name = classOf(ing);
  return name === undefined ? classes.isDefault : classes.names.has(name);
}
