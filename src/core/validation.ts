import type { z } from 'zod';
import { type FieldIssue, LabError } from './errors.js';

/** One zod issue as field paths a person can act on ("nodes.r2.asn: must be ..."). */
export function issueText(issue: z.core.$ZodIssue, prefix: Array<string | number> = []): FieldIssue[] {
  // An empty key is shown as "" so that every problem names a field; a huge key (a hostile caller's
  // megabyte name) is cut, so that the answer and the audit log stay small.
  const seg = (k: PropertyKey) => {
    const s = String(k);
    if (s === '') return '""';
    return s.length > MAX_SEGMENT ? `${s.slice(0, MAX_SEGMENT)}…(${s.length} characters)` : s;
  };
  const path = [...prefix, ...issue.path].map(seg).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({
      path: path ? `${path}.${seg(k)}` : seg(k),
      message: 'unknown field; remove it (see the schema for the accepted fields)',
    }));
  }
  if (issue.code === 'invalid_key') {
    // A record key (a node or network name in a topology file): say what a name may be.
    return [{ path: path || '(input)', message: `is not a valid name: ${issue.issues[0]?.message ?? issue.message}` }];
  }
  const message = /received undefined/.test(issue.message) ? 'is required' : issue.message;
  return [{ path: path || '(input)', message }];
}

/** One LabError listing every problem: "field: why" each, the same text on every front end. */
export function invalidInput(what: string, issues: FieldIssue[]): LabError {
  // Thousands of unknown keys make thousands of problems: the first ones say enough.
  const shown = issues.slice(0, MAX_ISSUES);
  const lines = shown.map((i) => `${i.path}: ${i.message}`);
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '';
  return new LabError('INVALID_INPUT', `invalid input for ${what}: ${lines.join('; ')}${more}`, { issues: shown });
}

const MAX_SEGMENT = 64;
const MAX_ISSUES = 20;

export function formatZodError(what: string, error: z.ZodError, prefix: Array<string | number> = []): LabError {
  return invalidInput(
    what,
    error.issues.flatMap((i) => issueText(i, prefix)),
  );
}
