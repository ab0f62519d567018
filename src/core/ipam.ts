import ipaddr from 'ipaddr.js';

/** Pure IPv4 address math for lab networks. Strings in, strings out; callers hold the state. */

export interface Subnet {
  cidr: string;
  network: number;
  prefix: number;
  size: number;
}

const toInt = (ip: string): number =>
  ipaddr.IPv4.parse(ip)
    .toByteArray()
    .reduce((a, b) => a * 256 + b, 0);
const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

export function isIpv4(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s);
}

/** Parse "a.b.c.d/n"; returns an error message instead of throwing. */
export function parseCidr(cidr: string): Subnet | string {
  const [addr, len, extra] = cidr.split('/');
  if (extra !== undefined || !addr || len === undefined || !/^(0|[1-9]\d?)$/.test(len)) {
    return `${cidr} is not an IPv4 prefix like 10.0.0.0/24`;
  }
  if (!isIpv4(addr)) return `${addr} is not an IPv4 address`;
  const prefix = Number(len);
  if (prefix > 32) return `/${len} is not a valid prefix length (0-32)`;
  const size = 2 ** (32 - prefix);
  const n = toInt(addr);
  const network = n - (n % size);
  return { cidr: `${toIp(network)}/${prefix}`, network, prefix, size };
}

/** Parse a subnet whose address must be the network address (10.0.0.0/24, not 10.0.0.5/24). */
export function parseSubnet(cidr: string): Subnet | string {
  const s = parseCidr(cidr);
  if (typeof s === 'string') return s;
  if (s.cidr !== cidr) return `${cidr} has host bits set; did you mean ${s.cidr}?`;
  if (s.prefix > 30) return `${cidr} is too small for a lab network: use /30 or larger`;
  return s;
}

export function contains(subnet: Subnet, ip: string): boolean {
  const n = toInt(ip);
  return n >= subnet.network && n < subnet.network + subnet.size;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** The first usable address: the conventional gateway. */
export function defaultGateway(subnet: Subnet): string {
  return toIp(subnet.network + 1);
}

export function broadcast(subnet: Subnet): string {
  return toIp(subnet.network + subnet.size - 1);
}

/** Why `ip` cannot be used on this subnet, or undefined when it can. `docker`: the block Docker keeps (swarmRange). */
export function checkAddress(
  subnet: Subnet,
  gateway: string,
  taken: Record<string, string>,
  ip: string,
  docker?: Subnet,
): string | undefined {
  if (!isIpv4(ip)) return `${ip} is not an IPv4 address`;
  if (!contains(subnet, ip)) return `${ip} is not in ${subnet.cidr}`;
  const n = toInt(ip);
  if (n === subnet.network) return `${ip} is the network address of ${subnet.cidr}`;
  if (n === subnet.network + subnet.size - 1) return `${ip} is the broadcast address of ${subnet.cidr}`;
  if (ip === gateway) return `${ip} is the gateway of ${subnet.cidr}`;
  if (docker && contains(docker, ip))
    return `${ip} is in ${docker.cidr}, which Docker keeps for its swarm load balancers on an overlay network; use an address below ${toIp(docker.network)}`;
  const owner = taken[ip];
  if (owner !== undefined) return `${ip} is already taken by ${owner}`;
  return undefined;
}

/** The lowest free host address, skipping the gateway, everything taken and `docker` (swarmRange); undefined when full. */
export function allocate(subnet: Subnet, gateway: string, taken: Record<string, string>, docker?: Subnet): string | undefined {
  for (let n = subnet.network + 1; n < subnet.network + subnet.size - 1; n++) {
    const ip = toIp(n);
    if (ip !== gateway && taken[ip] === undefined && !(docker && contains(docker, ip))) return ip;
  }
  return undefined;
}

/**
 * The block of an overlay network's subnet that Docker allocates from itself (its IPAM IPRange).
 * On a swarm overlay every engine gets a load-balancer endpoint (lb-<network>) with an address
 * Docker picks when the engine's first container joins: without a range, the lowest free one,
 * which is exactly what the store hands out next. The manager then refuses the store's address
 * ("Address already in use") and the engine's start fails with "context deadline exceeded".
 * So Docker takes the top of the subnet, the store everything below: a quarter of the subnet,
 * 4 to 64 addresses (the broadcast address is one of them). Undefined when the subnet is too
 * small to split (/30).
 */
export function swarmRange(subnet: Subnet): Subnet | undefined {
  const block = Math.min(64, Math.max(4, subnet.size / 4));
  if (block >= subnet.size) return undefined;
  const network = subnet.network + subnet.size - block;
  const prefix = 32 - Math.log2(block);
  return { cidr: `${toIp(network)}/${prefix}`, network, prefix, size: block };
}

/** Why `subnet` cannot be an overlay across `engines` engines (one Docker address each), or undefined. */
export function overlayProblem(subnet: Subnet, gateway: string, engines: number): string | undefined {
  const range = swarmRange(subnet);
  if (!range) return `${subnet.cidr} is too small for a network across engines: use /29 or larger (Docker takes an address per engine)`;
  const free = range.size - 1 - (contains(range, gateway) ? 1 : 0);
  if (free < engines)
    return `${subnet.cidr} leaves Docker ${free} address(es) in ${range.cidr} for the load balancers of ${engines} engines: use a larger subnet`;
  return undefined;
}

/**
 * Why `cidr` (an address with its prefix length, e.g. 172.31.0.1/30) cannot be a tunnel's inner
 * address, or undefined. The one rule for tunnel_create and topology files.
 */
export function innerAddressProblem(cidr: string): string | undefined {
  const p = parseCidr(cidr);
  if (typeof p === 'string') return p;
  if (p.prefix < 8 || p.prefix > 31) return `/${p.prefix} is not a tunnel subnet; use /8 to /31 (e.g. 172.31.0.1/30)`;
  const ip = cidr.split('/')[0] ?? '';
  if (p.prefix < 31 && (toInt(ip) === p.network || ip === broadcast(p))) return `${ip} is the network or broadcast address of ${p.cidr}`;
  return undefined;
}
