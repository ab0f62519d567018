/**
 * Values as a person types them: the one rule for every place a boolean or a number arrives as
 * text, whether an environment variable (NSLAB_READ_ONLY=yes), a Slack argument (force=on,
 * asn=65001) or a REST query string (?dry_run=true&limit=5). Case and surrounding spaces do not matter.
 */
export const TRUE_WORDS = ['true', 'yes', 'on', '1'] as const;
export const FALSE_WORDS = ['false', 'no', 'off', '0'] as const;

const words = new Map<string, boolean>([...TRUE_WORDS.map((w) => [w, true] as const), ...FALSE_WORDS.map((w) => [w, false] as const)]);

/** The words, for messages: `true/yes/on/1 or false/no/off/0`. */
export const BOOLEAN_WORDS = `${TRUE_WORDS.join('/')} or ${FALSE_WORDS.join('/')}`;

/**
 * true or false for one of the words, undefined for anything else: each caller decides what
 * other text means (a configuration error, or a value the tool's schema refuses by name).
 */
export function booleanOf(text: string): boolean | undefined {
  return words.get(text.trim().toLowerCase());
}

/** A plain decimal (`65001`, `-1`, `0.5`), or undefined: no hex, exponents or empty text, which Number() would take. */
export function numberOf(text: string): number | undefined {
  const t = text.trim();
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : undefined;
}
