import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Store } from '../../store/index.js';
import { ApiError } from '../../tasks/errors.js';
import type { User } from '../../tasks/task.js';

/**
 * A browser session is the API token itself in an HttpOnly, SameSite=Strict cookie: no session table,
 * valid on every API process, and revoking the token ends the session. Page scripts never see it.
 * State-changing requests made with the cookie also need the CSRF token, an HMAC of the session token
 * that the server puts into the pages it renders; bearer-token requests never need one.
 */
export const SESSION_COOKIE = 'bgagent_session';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_MAX_AGE_S = 12 * 60 * 60;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function readSessionToken(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    try {
      const value = decodeURIComponent(part.slice(eq + 1).trim());
      return value || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('bgagent-csrf-v1').digest('base64url');
}

export function csrfTokenMatches(sessionToken: string, sent: string | undefined): boolean {
  if (!sent) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const got = Buffer.from(sent);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** The user behind a session cookie; unsafe methods must carry the CSRF header. */
export async function authenticateSession(store: Store, req: FastifyRequest, sessionToken: string): Promise<User> {
  const user = await store.users.authenticate(sessionToken);
  if (!user) throw new ApiError('UNAUTHORIZED', 'the session expired or its token was revoked; sign in again');
  if (!SAFE_METHODS.has(req.method)) {
    const sent = req.headers[CSRF_HEADER];
    if (!csrfTokenMatches(sessionToken, Array.isArray(sent) ? sent[0] : sent)) {
      throw new ApiError('FORBIDDEN', `a request authenticated by the session cookie must send the ${CSRF_HEADER} header`);
    }
  }
  return user;
}

function cookieAttributes(secure: boolean): string {
  return `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function sessionCookie(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Max-Age=${SESSION_MAX_AGE_S}; ${cookieAttributes(secure)}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Max-Age=0; ${cookieAttributes(secure)}`;
}
