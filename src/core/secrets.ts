/**
 * What is secret, and how it is masked: decided here once. A secret (a BGP session's TCP MD5
 * password) is taken from whoever sets it and never shown again: not in answers of any tool (read
 * tools, resources, exec output that prints a config), not in the audit log, not in the Slack echo
 * of a command, not in confirmation questions, not in errors.
 *
 * Three ways a secret travels, three rules:
 * - under a key that names one (`password`, `auth_password`, `secret`, `token`): the string value
 *   is replaced;
 * - inside text (a topology's YAML or JSON, a daemon's config, a Slack `password=x` word): the value
 *   after such a key is replaced;
 * - anywhere else (an error that quotes its input): the exact values the caller sent as secrets are
 *   replaced wherever they appear.
 */

import { mapStrings } from './keys.js';

export const MASK = '***';

/** Key names whose string values are secrets. `has_password: true` (a boolean) stays. */
const SECRET_KEY = /(^|[_-])(password|passwd|secret|token)$/i;
export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key);

const KEY_WORDS = String.raw`[\w.-]*(?:password|passwd|secret|token)`;
/**
 * `password: x`, `"password": "x"`, `password=x`, `auth-password = "x"` (GoBGP), `md5-password "x"`
 * (ExaBGP), `neighbor 10.0.0.2 password x` (FRR), `password "x";` (BIRD), `tcp md5sig password "x"`
 * (OpenBGPD). The key and its quotes stay, the value goes.
 */
const IN_TEXT: RegExp[] = [
  new RegExp(String.raw`(["']?\b${KEY_WORDS}["']?[ \t]*[:=][ \t]*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;}\]"']+)`, 'gi'),
  /(\bmd5-password[ \t]+)("[^"\n]*"|\S+)/gi,
  /(\bneighbor[ \t]+\S+[ \t]+password[ \t]+)(\S+)/gi,
  // BIRD: `password "x";` (its strings have no escapes)
  /(?<!md5sig[ \t]+)(\bpassword[ \t]+)("[^"\n]*")(?=[ \t]*;)/gi,
  // OpenBGPD: `tcp md5sig password "x"` / `tcp md5sig key HEX` (a backslash escapes only a quote or a blank)
  /(\bmd5sig[ \t]+(?:password|key)[ \t]+)("(?:\\["\t ]|\\(?!["\t ])|[^"\\\n])*"|\S+)/gi,
];

/** The mask in the value's own quotes; after a YAML `key:` always quoted (a bare `*` is an alias). */
const maskValue = (key: string, value: string): string => {
  const q = value[0];
  if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) return `${q}${MASK}${q}`;
  return /:[ \t]*$/.test(key) ? `"${MASK}"` : MASK;
};

/** A word every pattern of IN_TEXT needs: text without one has nothing to mask (most answers' strings). */
const MAY_HOLD_SECRET = /passw|secret|token|md5/i;

/** Text with every secret it spells out replaced (config files, YAML, JSON, command lines). */
export function maskText(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  let out = text;
  for (const re of IN_TEXT) out = out.replace(re, (_m, key: string, value: string) => `${key}${maskValue(key, value)}`);
  return out;
}

/** A copy of a JSON-like value with its secrets masked (keys that name one, and text that spells one). */
export const maskSecrets = (value: unknown): unknown =>
  mapStrings(value, (s, key) => (key !== undefined && isSecretKey(key) ? MASK : maskText(s)));

/** The secret values a caller sent (under secret keys, or spelled in text), longest first. */
export function secretsIn(value: unknown, found: Set<string> = new Set(), depth = 0): string[] {
  if (typeof value === 'string') {
    for (const re of IN_TEXT) {
      for (const m of value.matchAll(re)) {
        const v = (m[2] ?? '').replace(/^["']|["']$/g, '');
        if (v.length >= 3 && v !== MASK) found.add(v);
      }
    }
  } else if (value !== null && typeof value === 'object' && depth <= 64) {
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (isSecretKey(key) && typeof v === 'string' && v.length >= 3 && v !== MASK) found.add(v);
      else secretsIn(v, found, depth + 1);
    }
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/** Text with the given secret values replaced wherever they appear (an error quoting its input). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join(MASK);
  return out;
}
