import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Docker drops routed packets on `internal` bridges (source or destination outside the bridge's
 * subnet). A lab router forwards between lab networks, so each lab bridge gets one DOCKER-USER rule
 * accepting traffic that enters and leaves by that same bridge. Traffic to anything outside the
 * lab still has no way out. Rules are matched by bridge name, which the lab chooses.
 */
function ruleArgs(bridge: string): string[] {
  return ['DOCKER-USER', '-i', bridge, '-o', bridge, '-j', 'ACCEPT', '-m', 'comment', '--comment', 'netstream-lab'];
}

async function iptables(args: string[]): Promise<void> {
  await run('iptables', ['-w', '5', ...args]);
}

/** Returns an explanation when the rule could not be put in place (the network still works unrouted). */
export async function allowRouted(bridge: string): Promise<string | undefined> {
  try {
    try {
      await iptables(['-C', ...ruleArgs(bridge)]);
      return undefined;
    } catch {
      await iptables(['-I', ...ruleArgs(bridge)]);
      return undefined;
    }
  } catch (err) {
    return `could not add the forwarding rule for ${bridge} (${(err as Error).message.split('\n')[0]}); routed traffic between lab networks will be dropped`;
  }
}

/** How many copies of each bridge's rule DOCKER-USER holds, read in one call. */
export async function ruleCounts(): Promise<Map<string, number> | undefined> {
  try {
    const { stdout } = await run('iptables', ['-w', '5', '-S', 'DOCKER-USER']);
    const counts = new Map<string, number>();
    for (const line of stdout.split('\n')) {
      const m = /^-A DOCKER-USER -i (\S+) -o \1 .*--comment netstream-lab/.exec(line);
      if (m?.[1]) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
    }
    return counts;
  } catch {
    return undefined;
  }
}

/** Remove the rules of several bridges, reading the chain once (teardown of a whole topology). */
export async function removeRoutedMany(bridges: string[]): Promise<void> {
  const counts = await ruleCounts();
  if (!counts) return;
  for (const b of bridges) for (let i = 0; i < (counts.get(b) ?? 0); i++) await iptables(['-D', ...ruleArgs(b)]).catch(() => undefined);
}

export async function removeRouted(bridge: string): Promise<void> {
  // Delete every copy (a crashed run may have added it twice).
  for (let i = 0; i < 10; i++) {
    try {
      await iptables(['-D', ...ruleArgs(bridge)]);
    } catch {
      return;
    }
  }
}
