import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Store } from '../../store/index.js';
import { ApiError } from '../../tasks/errors.js';
import type { User } from '../../tasks/task.js';
import { SESSION_LIFETIME_MS } from '../../store/web-sessions.js';

/**
 * A browser session is a random id in an HttpOnly, SameSite=Strict cookie, never the API token: the
 * database keeps its hash, the token it is bound to and its expiry (see store/web-sessions.ts), so every
 * API process accepts it and signing out, revoking the token or expiry ends it. Page scripts never see it.
 * State-changing requests made with the cookie also need the CSRF token, an HMAC keyed by the session id
 * that the server puts into the pages it renders; bearer-token requests never need one.
 */
export const SESSION_COOKIE = 'bgagent_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function readSessionId(req: FastifyRequest): string | undefined {
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

export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('bgagent-csrf-v1').digest('base64url');
}

/** `sent` is whatever the request carried: a form or JSON body may hold any type there. */
export function csrfTokenMatches(sessionId: string, sent: unknown): boolean {
  if (typeof sent !== 'string' || !sent) return false;
  const expected = Buffer.from(csrfTokenFor(sessionId));
  const got = Buffer.from(sent);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** The user behind a session cookie; unsafe methods must carry the CSRF header. */
export async function authenticateSession(store: Store, req: FastifyRequest, sessionId: string): Promise<User> {
  const user = await store.webSessions.authenticate(sessionId);
  if (!user) throw new ApiError('UNAUTHORIZED', 'the session ended (signed out, expired or its token was revoked); sign in again');
  if (!SAFE_METHODS.has(req.method)) {
    const sent = req.headers[CSRF_HEADER];
    if (!csrfTokenMatches(sessionId, Array.isArray(sent) ? sent[0] : sent)) {
      throw new ApiError('FORBIDDEN', `a request authenticated by the session cookie must send the ${CSRF_HEADER} header`);
    }
  }
  return user;
}

function cookieAttributes(secure: boolean): string {
  return `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function sessionCookie(sessionId: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(sessionId)}; Max-Age=${SESSION_LIFETIME_MS / 1000}; ${cookieAttributes(secure)}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Max-Age=0; ${cookieAttributes(secure)}`;
}
