/**
 * The kernel route functions GoBGP and OpenBGPD share (images/common/nslab-routes.sh) and GoBGP's
 * own (images/gobgp/entrypoint.sh, between its "route functions" markers), run in bash with a
 * stand-in `ip`: the best paths taken from what `gobgp monitor global rib` prints, and the one
 * `ip -batch` that makes the kernel match them.
 * What gobgp prints is text a container wrote, so hostile lines are part of the cases.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = readFileSync(new URL('../../images/gobgp/entrypoint.sh', import.meta.url), 'utf8');
const begin = script.indexOf('# ---- the route functions');
const end = script.indexOf('# ---- end of the route functions ----');
const shared = readFileSync(new URL('../../images/common/nslab-routes.sh', import.meta.url), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'nslab-gobgp-routes-'));
const canary = join(work, 'ran');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Feed the chunks (as the monitor's stream arrives) through take_lines, then install_routes with
 * `installed` as what `ip -4 route show proto 186` says. Returns the batch given to `ip -batch`,
 * one change per line, sorted.
 */
function run(chunks: string[], installed = ''): string[] {
  return bash(chunks, installed, 'install_routes best')[0] as string[];
}

/**
 * As follow_rib does: what is installed read once, then apply_best after the chunks of each
 * round. Returns each round's batch.
 */
function rounds(rs: string[][], installed = ''): string[][] {
  const body = rs.map((_, i) => `take_round ${i}; apply_best; echo ---`).join('\n');
  return bash(
    rs.flatMap((r, i) => r.map((c) => `${i}:${c}`)),
    installed,
    `declare -A applied=()\nread_installed applied\n${body}`,
  );
}

function bash(chunks: string[], installed: string, then: string): string[][] {
  const driver = [
    'set -u',
    'log() { echo "LOG $*" >&2; }',
    'RT_PROTO=186',
    'RT_METRIC=20',
    // the stand-in: `ip -4 route show ...` says what is installed, `ip -force -batch -` echoes its batch
    'ip() { if [ "$1" = -4 ]; then printf "%s" "$INSTALLED"; else cat; fi; }',
    shared,
    script.slice(begin, end),
    'declare -A best=()',
    "buf=''",
    "mapfile -d '' chunks",
    // chunks may be "ROUND:text" (rounds()); take_round N feeds round N's
    'take_round() { local c; for c in "${chunks[@]}"; do [[ "$c" == "$1:"* ]] && { buf+=${c#*:}; take_lines; }; done; }',
    /^install/.test(then) ? 'for c in "${chunks[@]}"; do buf+=$c; take_lines; done' : '',
    then,
  ].join('\n');
  const r = spawnSync('bash', ['-c', driver], {
    input: chunks.join('\0'),
    env: { PATH: process.env.PATH, INSTALLED: installed, HOME: work },
    cwd: work,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('---\n').map((part) => part.split('\n').filter(Boolean).sort());
}

const line = (kind: string, prefix: string, nh: string, path = '64601') =>
  `2026-12-07T12:22:02Z [${kind}] ${prefix} via ${nh} aspath [${path}] attrs [{Origin: i}]\n`;
const replace = (prefix: string, nh: string) => `route replace ${prefix} via ${nh} proto 186 metric 20`;
const del = (prefix: string) => `route del ${prefix} proto 186 metric 20`;

describe('GoBGP kernel routes from the monitor stream (images/gobgp/entrypoint.sh)', () => {
  it('finds both markers', () => {
    expect(begin).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(begin);
    expect(script).toContain('. /usr/local/lib/nslab-routes.sh');
  });

  it('installs the last best path of each prefix, drops withdrawn ones and what the RIB no longer has', () => {
    const stream =
      line('ROUTE', '10.1.0.0/24', '10.150.0.2') +
      line('ROUTE', '10.1.0.0/24', '10.150.0.5', '64602 64603') + // path hunting: the later best wins
      line('ROUTE', '10.2.0.0/24', '10.150.0.4') +
      line('DELROUTE', '10.2.0.0/24', '10.150.0.4') +
      line('ROUTE', '10.3.0.0/28', '0.0.0.0', ''); // locally originated: never a kernel route
    expect(run([stream], '10.9.0.0/24 via 10.150.0.9 dev eth0 metric 20 \n')).toEqual([
      del('10.9.0.0/24'),
      replace('10.1.0.0/24', '10.150.0.5'),
    ]);
  });

  it('changes nothing for routes already installed as wanted, and replaces a changed next hop', () => {
    const stream = line('ROUTE', '10.1.0.0/24', '10.150.0.2') + line('ROUTE', '10.4.0.4/32', '10.150.0.3');
    const installed = '10.1.0.0/24 via 10.150.0.2 dev eth0 metric 20 \n10.4.0.4 via 10.150.0.7 dev eth0 metric 20 \n';
    expect(run([stream], installed)).toEqual([replace('10.4.0.4/32', '10.150.0.3')]);
  });

  it('reads the same whatever byte the stream is split at, a partial line waiting for its end', () => {
    const stream =
      line('ROUTE', '10.1.0.0/24', '10.150.0.2') +
      line('DELROUTE', '10.1.0.0/24', '10.150.0.2') +
      line('ROUTE', '10.5.0.0/16', '10.150.0.6');
    for (let cut = 1; cut < stream.length; cut += 11) {
      expect(run([stream.slice(0, cut), stream.slice(cut)])).toEqual([replace('10.5.0.0/16', '10.150.0.6')]);
    }
    // a line not yet ended is not taken
    expect(run([line('ROUTE', '10.6.0.0/24', '10.150.0.2').trimEnd()])).toEqual([]);
  });

  it('applies only what changed since the last apply, and runs nothing when nothing did', () => {
    const got = rounds(
      [
        [line('ROUTE', '10.1.0.0/24', '10.150.0.2') + line('ROUTE', '10.2.0.0/24', '10.150.0.3')],
        [], // no change: no batch at all
        [line('ROUTE', '10.2.0.0/24', '10.150.0.4') + line('ROUTE', '10.2.0.0/24', '10.150.0.3')], // a burst that ends where it began
        [line('DELROUTE', '10.1.0.0/24', '10.150.0.2') + line('ROUTE', '10.2.0.0/24', '10.150.0.5')],
      ],
      '10.1.0.0/24 via 10.150.0.2 dev eth0 metric 20 \n10.9.0.0/24 via 10.150.0.9 dev eth0 metric 20 \n',
    );
    expect(got.slice(0, 4)).toEqual([
      [del('10.9.0.0/24'), replace('10.2.0.0/24', '10.150.0.3')],
      [],
      [],
      [del('10.1.0.0/24'), replace('10.2.0.0/24', '10.150.0.5')],
    ]);
  });

  it('never runs, globs or installs what a hostile line carries', () => {
    const hostile = [
      `2026-12-07T12:22:02Z [ROUTE] $(touch ${canary}) via 10.150.0.2 aspath [] attrs []\n`,
      `2026-12-07T12:22:02Z [ROUTE] 10.7.0.0/24 via 10.150.0.2;touch${canary} aspath [] attrs []\n`,
      `2026-12-07T12:22:02Z [ROUTE] \`touch ${canary}\` via \`touch ${canary}\`\n`,
      '2026-12-07T12:22:02Z [ROUTE] * via * aspath [*] attrs [*]\n',
      '2026-12-07T12:22:02Z [ROUTE] 10.12.0.0/24;reboot via 10.150.0.2\n',
      `2026-12-07T12:22:02Z [ROUTE] $(touch${'${IFS}'}${canary}) via 10.150.0.2\n`,
      '2026-12-07T12:22:02Z [ROUTE] 10.13.0.0/24 via 10.150.0.2\n2026-12-07T12:22:02Z [DELROUTE] 10.13.0.0/24;x\n',
      `2026-12-07T12:22:02Z [DELROUTE] a[$(touch ${canary})] via 10.150.0.2\n`,
      `2026-12-07T12:22:02Z [ROUTE] 10.8.0.0/24 via 10.150.0.3 aspath [$(touch ${canary})] attrs [{x: \${IFS}}]\n`,
      `[ROUTE] 10.10.0.0/24 via 10.150.0.4\n`, // no time stamp: still read
      'a b c d [ROUTE] 10.11.0.0/24 via 10.150.0.4\n', // the marker past the fourth field: not a route line
      `${'x'.repeat(100_000)}\n`,
      'route del 0.0.0.0/0\n',
    ].join('');
    expect(run([hostile])).toEqual([
      replace('10.10.0.0/24', '10.150.0.4'),
      replace('10.13.0.0/24', '10.150.0.2'),
      replace('10.8.0.0/24', '10.150.0.3'),
    ]);
    expect(existsSync(canary)).toBe(false);
  });
});
