import { invalid } from '../errors.js';
import { MASK } from '../secrets.js';
import type { TopologySpec } from './spec.js';

type Sessions = NonNullable<NonNullable<TopologySpec['bgp']>['sessions']>;

const ends = (s: Sessions[number]): [string, string] => (Array.isArray(s) ? [s[0], s[1]] : [s.a, s.b]);
const samePair = (x: Sessions[number], y: Sessions[number]): boolean => {
  const [a, b] = ends(x);
  const [c, d] = ends(y);
  return (a === c && b === d) || (a === d && b === c);
};

/**
 * topology_get shows every password as `***`. A file read that way and sent back (edited or not)
 * keeps the passwords it had: a session whose password is the mask takes the one the saved file
 * has for the same two nodes. A mask with nothing behind it is refused: `***` is never a password.
 */
export function restoreMaskedPasswords(spec: TopologySpec, saved: Record<string, unknown> | undefined): void {
  const before = ((saved?.bgp as { sessions?: Sessions } | undefined)?.sessions ?? []) as Sessions;
  for (const [i, s] of (spec.bgp?.sessions ?? []).entries()) {
    if (Array.isArray(s) || s.password !== MASK) continue;
    const kept = before.find((o) => !Array.isArray(o) && samePair(o, s) && o.password !== undefined && o.password !== MASK);
    if (!kept || Array.isArray(kept) || kept.password === undefined) {
      throw invalid(
        `bgp.sessions.${i}.password`,
        `'${MASK}' is how netstream-lab shows a password it keeps, and the saved file has none for ${s.a}-${s.b}`,
        'give the password itself, or leave the field out',
      );
    }
    s.password = kept.password;
  }
}
