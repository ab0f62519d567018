/**
 * Subnets for imported networks that collide with nothing the lab writes: every IPv4 address and
 * prefix in its file and bound files is kept clear, so that Docker's gateway on a lab network never
 * takes an address one of the lab's own configs or exec lines puts on an interface.
 */
import { parseCidr } from '../ipam.js';

/** Where imported networks are taken from, in order (shared space first, then private ranges). */
const POOLS = ['100.64.0.0/10', '198.18.0.0/15', '172.16.0.0/12', '10.0.0.0/8', '192.168.0.0/16'];

const ADDRESS = /(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?(?![\d.]*\d)/g;

type Range = [start: number, end: number];

/** Every IPv4 address (as /32) and prefix written in the texts; masks, 0/8, loopback and multicast are skipped. */
export function writtenRanges(texts: Iterable<string>): Range[] {
  const out: Range[] = [];
  for (const text of texts) {
    for (const m of text.matchAll(ADDRESS)) {
      const first = Number((m[1] as string).split('.')[0]);
      if (first === 0 || first === 127 || first >= 224) continue;
      const len = m[2] === undefined ? 32 : Number(m[2]);
      if (len < 8) continue;
      const p = parseCidr(`${m[1]}/${len}`);
      if (typeof p !== 'string') out.push([p.network, p.network + p.size]);
    }
  }
  return out;
}

/** Hands out aligned blocks that overlap none of the ranges given, nor each other. */
export class SubnetPool {
  #taken: Range[];

  constructor(ranges: Range[], avoid: string[]) {
    const all = [...ranges];
    for (const a of avoid) {
      const p = parseCidr(a);
      if (typeof p !== 'string') all.push([p.network, p.network + p.size]);
    }
    all.sort((x, y) => x[0] - y[0]);
    const merged: Range[] = [];
    for (const r of all) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    this.#taken = merged;
  }

  /** The first taken range that ends after `n` (binary search). */
  #after(n: number): number {
    let lo = 0;
    let hi = this.#taken.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#taken[mid] as Range)[1] <= n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A free subnet for `members` addresses (plus network, broadcast and Docker's gateway), or undefined. */
  take(members: number): string | undefined {
    let size = 8;
    while (size < members + 3) size *= 2;
    for (const pool of POOLS) {
      const p = parseCidr(pool);
      if (typeof p === 'string' || size > p.size) continue;
      let c = p.network;
      while (c + size <= p.network + p.size) {
        const i = this.#after(c);
        const r = this.#taken[i];
        if (r && r[0] < c + size) {
          c = Math.ceil(r[1] / size) * size;
          continue;
        }
        this.#taken.splice(i, 0, [c, c + size]);
        const got = parseCidr(`${[24, 16, 8, 0].map((s) => Math.floor(c / 2 ** s) % 256).join('.')}/${32 - Math.log2(size)}`);
        return typeof got === 'string' ? undefined : got.cidr;
      }
    }
    return undefined;
  }
}
