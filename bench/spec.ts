/** The benchmark topology, shared by bench/standup.ts and bench/engines.ts. */
export const KINDS = ['frr', 'gobgp', 'exabgp'] as const;

/** N nodes in segments of 10 on /24 networks: 8 routers (frr, gobgp, exabgp in turn) in a ring of sessions, and 2 hosts. */
export function spec(name: string, n: number, octet: number): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  const nodes: Record<string, unknown> = {};
  const sessions: string[][] = [];
  const segments = Math.ceil(n / 10);
  for (let s = 0; s < segments; s++) networks[`s${s}`] = { subnet: `10.${octet}.${s}.0/24` };
  for (let s = 0; s < segments; s++) {
    const members = Array.from({ length: Math.min(10, n - s * 10) }, (_, i) => s * 10 + i);
    const routers = members.filter((i) => i % 10 < 8);
    for (const i of members) {
      if (i % 10 < 8)
        nodes[`r${i}`] = {
          kind: KINDS[i % 3],
          asn: 64600 + i,
          interfaces: { [`s${s}`]: 'auto' },
          advertise: [`172.${16 + (i >> 8)}.${i & 255}.0/24`],
        };
      else nodes[`h${i}`] = { kind: 'host', interfaces: { [`s${s}`]: 'auto' }, gateway: `r${s * 10}` };
    }
    if (routers.length > 1)
      for (const [k, i] of routers.entries())
        if (routers.length > 2 || k === 0) sessions.push([`r${i}`, `r${routers[(k + 1) % routers.length]}`]);
  }
  return { name, networks, nodes, bgp: { sessions } };
}

/**
 * The scale lab of issue 19: `containers / 2` routers (FRR and GoBGP in turn) in a ring of
 * sessions on one core network, each with a host behind it on its own LAN (a /28), the LAN
 * advertised. `containers / 2 + 1` networks. Subnets 10.<octet>.0.0/22 (core) and
 * 10.<octet>.<16 + i / 16>.<(i % 16) * 16>/28 (LANs).
 */
export function ringSpec(name: string, containers: number, octet: number): Record<string, unknown> {
  const routers = Math.max(2, Math.floor(containers / 2));
  const networks: Record<string, unknown> = { core: { subnet: `10.${octet}.0.0/22` } };
  const nodes: Record<string, unknown> = {};
  const sessions: string[][] = [];
  for (let i = 0; i < routers; i++) {
    const lan = `10.${octet}.${16 + (i >> 4)}.${(i & 15) * 16}/28`;
    networks[`l${i}`] = { subnet: lan };
    nodes[`r${i}`] = { kind: RING_KINDS[i % 2], asn: 64600 + i, interfaces: { core: 'auto', [`l${i}`]: 'auto' }, advertise: [lan] };
    nodes[`h${i}`] = { kind: 'host', interfaces: { [`l${i}`]: 'auto' }, gateway: `r${i}` };
    if (routers > 2 || i === 0) sessions.push([`r${i}`, `r${(i + 1) % routers}`]);
  }
  return { name, networks, nodes, bgp: { sessions } };
}

export const RING_KINDS = ['frr', 'gobgp'] as const;
