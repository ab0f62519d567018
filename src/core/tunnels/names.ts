/** Interface names the kernel makes by itself when a tunnel module loads, and Docker's own. */
const RESERVED = /^(lo|eth\d+|gre0|gretap0|erspan0|tunl0|sit0|ip6tnl0|ip6gre0|ip_vti0|ip6_vti0|teql0|vxlan0|bond0|dummy0)$/;

/** Why `name` cannot be a tunnel's interface name, or undefined when it can. */
export function checkTunnelName(name: string): string | undefined {
  if (name.length > 15) return `${name} is ${name.length} characters; an interface name has at most 15`;
  if (RESERVED.test(name)) return `${name} is a name the kernel or Docker uses for its own interfaces; pick another`;
  return undefined;
}
