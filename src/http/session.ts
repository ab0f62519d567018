/**
 * The web view's session cookie (/ui): a browser gives the token once (POST /ui/login) and is then
 * known by a cookie that stands for it. The cookie is not the token: it is `v1.<expiry>.<nonce>.<mac>`
 * with mac = HMAC-SHA256 over the rest, keyed by a key derived from the token. So nothing needs
 * keeping on the server (a restart keeps browsers signed in; changing the token signs every
 * browser out), a stolen cookie does not reveal the token and expires, and a logout revokes its
 * cookie in this process.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export const SESSION_COOKIE = 'nslab_session';
/** How long a sign-in lasts. */
export const SESSION_TTL_S = 12 * 60 * 60;
/** Logged-out cookies remembered until they expire; past this many the oldest are forgotten. */
const MAX_REVOKED = 10_000;

const keyOf = (token: string): Buffer => createHmac('sha256', token).update('netstream-lab web view session v1').digest();
const macOf = (token: string, body: string): Buffer => createHmac('sha256', keyOf(token)).update(body).digest();

/** nonce -> expiry (s) of cookies logged out */
const revoked = new Map<string, number>();

/** A new session value for this token, valid SESSION_TTL_S from now. */
export function newSession(token: string, nowMs = Date.now()): string {
  const body = `v1.${Math.floor(nowMs / 1000) + SESSION_TTL_S}.${randomBytes(16).toString('base64url')}`;
  return `${body}.${macOf(token, body).toString('base64url')}`;
}

interface Parsed {
  expires: number;
  nonce: string;
}

/** The session's parts when its MAC is this token's (constant time) and it has not expired or been revoked. */
function verified(value: string | undefined, token: string, nowMs: number): Parsed | undefined {
  if (!value || value.length > 200) return undefined;
  const m = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return undefined;
  const [, exp = '', nonce = '', mac = ''] = m;
  const want = macOf(token, `v1.${exp}.${nonce}`);
  const got = Buffer.from(mac, 'base64url');
  // Both are 32 bytes (the pattern fixes the length): the comparison leaks nothing.
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  const expires = Number(exp);
  if (expires * 1000 <= nowMs || revoked.has(nonce)) return undefined;
  return { expires, nonce };
}

export function validSession(value: string | undefined, token: string, nowMs = Date.now()): boolean {
  return verified(value, token, nowMs) !== undefined;
}

/** Log a session out: it is refused from now on (in this process; it expires anyway). */
export function revokeSession(value: string | undefined, token: string, nowMs = Date.now()): void {
  const s = verified(value, token, nowMs);
  if (!s) return;
  for (const [nonce, exp] of revoked) if (exp * 1000 <= nowMs) revoked.delete(nonce);
  while (revoked.size >= MAX_REVOKED) {
    const oldest = revoked.keys().next().value;
    if (oldest === undefined) break;
    revoked.delete(oldest);
  }
  revoked.set(s.nonce, s.expires);
}

/** The session cookie's value in a request, if it sent one. */
export function sessionOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Whether the browser reached us over https (directly, or through a proxy that says so). */
export function overHttps(req: IncomingMessage): boolean {
  if ((req.socket as Partial<TLSSocket>).encrypted) return true;
  const proto = req.headers['x-forwarded-proto'];
  return typeof proto === 'string' && proto.split(',')[0]?.trim().toLowerCase() === 'https';
}

/** Set-Cookie for a session: HttpOnly, SameSite=Strict, Path=/, Secure over https. */
export function sessionCookie(value: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Max-Age=${SESSION_TTL_S}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Set-Cookie that removes the session cookie. */
export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** GET, HEAD and OPTIONS change nothing: a cookie alone may make them. */
export const safeMethod = (method: string | undefined): boolean => method === 'GET' || method === 'HEAD' || method === 'OPTIONS';

/**
 * A request a cookie authenticates that may change something must show it comes from our own page:
 * an Origin whose host is the Host it was sent to (browsers send Origin with every POST and DELETE).
 * SameSite=Strict already keeps other sites' requests from carrying the cookie; this is the second lock.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (typeof origin !== 'string' || !host) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
