/**
 * Which of our kinds a containerlab node becomes. `linux` (and `frr`) nodes are recognised by their
 * image, else by what they bind; other linux nodes become hosts. Bridges become a network; vendor
 * kinds cannot run here.
 */
import { DAEMON_KINDS, type DaemonKind } from '../bgp/types.js';
import { IMAGE_REPO } from '../images.js';

export type OurKind = DaemonKind | 'host';

/** Kinds whose nodes become lab nodes. */
export const NODE_KINDS: ReadonlySet<string> = new Set(['linux', 'frr']);
/** Kinds whose nodes become one lab network joining their endpoints. */
export const BRIDGE_KINDS: ReadonlySet<string> = new Set(['bridge', 'ovs-bridge']);

/** Why a node of this containerlab kind is left out. */
export function leftOutReason(kind: string): string {
  if (kind === 'host') return 'kind host is the containerlab machine itself, not a container';
  if (kind === 'ext-container') return 'kind ext-container is a container made outside the lab';
  return `kind ${kind} is a vendor system that does not run here (only linux, frr, bridge and ovs-bridge nodes are imported)`;
}

/** `quay.io/frrouting/frr:8.4.0` -> `frrouting/frr` (registry, tag and digest dropped, lower case). */
export function imageRepo(image: string): string {
  let s = image.toLowerCase().split('@')[0] as string;
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) s = s.slice(0, colon);
  const parts = s.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0] as string)) parts.shift();
  return parts.join('/');
}

/** Our kind for an image, when it says one. */
export function kindByImage(image: string): OurKind | undefined {
  const repo = imageRepo(image);
  const ours = repo.startsWith(`${IMAGE_REPO}/`) ? repo.slice(IMAGE_REPO.length + 1) : undefined;
  if (ours === 'host' || (DAEMON_KINDS as readonly string[]).includes(ours ?? '')) return ours as OurKind;
  if (repo.includes('frr')) return 'frr';
  if (repo.includes('gobgp')) return 'gobgp';
  if (repo.includes('exabgp')) return 'exabgp';
  if (repo.includes('openbgpd')) return 'openbgpd';
  if (repo.includes('bird')) return 'bird';
  return undefined;
}

/** Our kind for what a node binds (container paths), when one says it. */
export function kindByBinds(destinations: string[]): DaemonKind | undefined {
  const tests: Array<[DaemonKind, (d: string) => boolean]> = [
    ['frr', (d) => d === '/etc/frr' || d.startsWith('/etc/frr/')],
    ['gobgp', (d) => d === '/etc/gobgp' || d.startsWith('/etc/gobgp/') || /(^|\/)gobgpd?\.(conf|toml|ya?ml|json)$/.test(d)],
    ['exabgp', (d) => d === '/etc/exabgp' || d.startsWith('/etc/exabgp/')],
    ['bird', (d) => d === '/etc/bird' || d.startsWith('/etc/bird/') || d === '/etc/bird.conf'],
    ['openbgpd', (d) => d === '/etc/bgpd.conf' || d === '/etc/openbgpd' || d.startsWith('/etc/openbgpd/')],
  ];
  for (const [kind, test] of tests) if (destinations.some(test)) return kind;
  return undefined;
}

/** Is this image one of ours (`netstream-lab/<kind>`)? */
export const isOurImage = (image: string, kind: OurKind): boolean => imageRepo(image) === `${IMAGE_REPO}/${kind}`;
