import { describe, expect, it } from 'vitest';
import { allocate, checkAddress, defaultGateway, overlaps, parseCidr, parseSubnet } from '../../src/core/ipam.js';

const net = (c: string) => {
  const s = parseSubnet(c);
  if (typeof s === 'string') throw new Error(s);
  return s;
};

describe('ipam', () => {
  it('parses subnets and refuses host bits, bad lengths and tiny networks', () => {
    expect(net('10.10.0.0/24')).toMatchObject({ prefix: 24, size: 256 });
    expect(parseSubnet('10.10.0.5/24')).toBe('10.10.0.5/24 has host bits set; did you mean 10.10.0.0/24?');
    expect(parseSubnet('10.10.0.0/33')).toMatch(/not a valid prefix length/);
    expect(parseSubnet('10.10.0.300/24')).toMatch(/not an IPv4 address/);
    expect(parseSubnet('10.10.0.0/31')).toMatch(/too small/);
    expect(parseSubnet('banana')).toMatch(/not an IPv4 prefix/);
    expect(parseCidr('10.10.0.5/24')).toMatchObject({ cidr: '10.10.0.0/24' });
  });

  it('allocates the lowest free address, skipping the gateway and taken ones', () => {
    const s = net('10.10.0.0/29');
    const gw = defaultGateway(s);
    expect(gw).toBe('10.10.0.1');
    const taken: Record<string, string> = { '10.10.0.2': 'r1' };
    expect(allocate(s, gw, taken)).toBe('10.10.0.3');
    for (const ip of ['10.10.0.3', '10.10.0.4', '10.10.0.5', '10.10.0.6']) taken[ip] = 'x';
    expect(allocate(s, gw, taken)).toBeUndefined();
  });

  it('explains why a chosen address cannot be used', () => {
    const s = net('10.10.0.0/24');
    const taken = { '10.10.0.7': 'r2' };
    expect(checkAddress(s, '10.10.0.1', taken, '10.10.1.5')).toBe('10.10.1.5 is not in 10.10.0.0/24');
    expect(checkAddress(s, '10.10.0.1', taken, '10.10.0.1')).toBe('10.10.0.1 is the gateway of 10.10.0.0/24');
    expect(checkAddress(s, '10.10.0.1', taken, '10.10.0.7')).toBe('10.10.0.7 is already taken by r2');
    expect(checkAddress(s, '10.10.0.1', taken, '10.10.0.0')).toMatch(/network address/);
    expect(checkAddress(s, '10.10.0.1', taken, '10.10.0.255')).toMatch(/broadcast/);
    expect(checkAddress(s, '10.10.0.1', taken, '10.10.0.8')).toBeUndefined();
  });

  it('detects overlapping subnets', () => {
    expect(overlaps(net('10.10.0.0/16'), net('10.10.5.0/24'))).toBe(true);
    expect(overlaps(net('10.10.0.0/24'), net('10.10.1.0/24'))).toBe(false);
  });
});

describe('host routes', () => {
  it('reads the routes a lab subnet must not take over, leaving out the default route and Docker bridges', async () => {
    const { parseRoutes } = await import('../../src/core/docker/host-routes.js');
    const json = JSON.stringify([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '172.17.0.0/16', dev: 'docker0' },
      { dst: '10.10.0.0/24', dev: 'br-0123456789ab' },
      { dst: '10.11.0.0/24', dev: 'nsl0123456789ab' },
      { dst: '198.18.77.0/24', dev: 'lo', type: 'blackhole' },
    ]);
    expect(parseRoutes(json)).toEqual([
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '198.18.77.0/24', dev: 'lo' },
    ]);
  });
});
