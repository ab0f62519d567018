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
