import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../../store/index.js';
import type { User } from '../../tasks/task.js';
import { ASSETS } from './assets.js';
import { signInPage, taskListPage, taskPage } from './pages.js';
import { clearedSessionCookie, csrfTokenFor, csrfTokenMatches, readSessionId, sessionCookie } from './session.js';

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the page's own form posts.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

const TASK_ID = /^[0-9A-Z]{26}$/;

// Pages are shells that check the session themselves; their data comes from the /v1 API.
const PUBLIC = { config: { access: 'public' } } as const;

/**
 * The web page: sign-in, the task list and a task's live page. Pages are shells the script fills from
 * the /v1 API, which accepts the session cookie set here (see ./session.ts).
 */
export async function webRoutes(app: FastifyInstance, deps: { store: Store; publicUrl?: string }): Promise<void> {
  const { store } = deps;
  // Behind a TLS proxy, req.protocol is https only when BGAGENT_TRUST_PROXY lets Fastify believe X-Forwarded-Proto.
  const publicHttps = deps.publicUrl?.startsWith('https:') ?? false;
  const secureCookie = (req: FastifyRequest) => publicHttps || req.protocol === 'https';
  const publicOrigin = deps.publicUrl === undefined ? undefined : new URL(deps.publicUrl).origin;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  for (const a of Object.values(ASSETS)) {
    app.get(a.path, PUBLIC, (_req, reply) =>
      reply.header('content-type', a.type).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').send(a.body),
    );
  }

  async function session(req: FastifyRequest): Promise<{ user: User; sessionId: string } | undefined> {
    const sessionId = readSessionId(req);
    const user = sessionId ? await store.webSessions.authenticate(sessionId) : undefined;
    return sessionId && user ? { user, sessionId } : undefined;
  }

  async function pageSession(user: User, sessionId: string) {
    const users = user.isAdmin ? await store.users.list() : [user];
    return { user, csrf: csrfTokenFor(sessionId), userNames: Object.fromEntries(users.map((u) => [u.id, u.name])) };
  }

  function toSignIn(req: FastifyRequest, reply: FastifyReply) {
    return reply.redirect(`/signin?next=${encodeURIComponent(req.url)}`, 303);
  }

  app.get<{ Querystring: { status?: string; repo?: string } }>('/', PUBLIC, async (req, reply) => {
    const s = await session(req);
    if (!s) return toSignIn(req, reply);
    const filters = { status: String(req.query.status ?? ''), repo: String(req.query.repo ?? '') };
    return reply.headers(PAGE_HEADERS).send(taskListPage(await pageSession(s.user, s.sessionId), filters));
  });

  app.get<{ Params: { id: string } }>('/tasks/:id', PUBLIC, async (req, reply) => {
    if (!TASK_ID.test(req.params.id)) return reply.callNotFound();
    const s = await session(req);
    if (!s) return toSignIn(req, reply);
    return reply.headers(PAGE_HEADERS).send(taskPage(await pageSession(s.user, s.sessionId), req.params.id));
  });

  app.get<{ Querystring: { next?: string } }>('/signin', PUBLIC, async (req, reply) => {
    return reply.headers(PAGE_HEADERS).send(signInPage({ next: safeNext(req.query.next) }));
  });

  app.post<{ Body: { token?: string; next?: string } }>('/signin', PUBLIC, async (req, reply) => {
    const next = safeNext(req.body?.next);
    if (!sameOrigin(req, publicOrigin)) return reply.status(403).headers(PAGE_HEADERS).send(signInPage({ next, error: 'Sign-in must come from this site.' }));
    const token = String(req.body?.token ?? '').trim();
    const found = token ? await store.users.authenticateToken(token) : undefined;
    if (!found) {
      req.log.info('web sign-in refused: unknown or revoked token');
      return reply.status(401).headers(PAGE_HEADERS).send(signInPage({ next, error: 'That token is not valid (unknown or revoked).' }));
    }
    const sessionId = await store.webSessions.create(found.tokenId, found.user.id);
    req.log.info({ user: found.user.name }, 'web sign-in');
    return reply.header('set-cookie', sessionCookie(sessionId, secureCookie(req))).redirect(next, 303);
  });

  app.post<{ Body: { csrf?: unknown } | undefined }>('/signout', PUBLIC, async (req, reply) => {
    const sessionId = readSessionId(req);
    if (sessionId && !csrfTokenMatches(sessionId, req.body?.csrf)) return reply.status(403).headers(PAGE_HEADERS).send('Sign-out needs the page’s CSRF token.');
    if (sessionId) await store.webSessions.delete(sessionId);
    return reply.header('set-cookie', clearedSessionCookie(secureCookie(req))).redirect('/signin', 303);
  });
}

// Any origin that cannot be a real one: `next` must resolve to it to be a path on this site.
const SELF = 'http://bgagent.invalid';
// Browsers drop tabs and newlines from URLs and read \ as /, so "/\t/evil" and "/\evil" lead elsewhere.
const UNSAFE_IN_NEXT = /[\u0000-\u001f\u007f-\u009f\\]/;

/** Only a path on this site: never an open redirect to another. */
function safeNext(next: unknown): string {
  if (typeof next !== 'string' || UNSAFE_IN_NEXT.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, SELF);
  } catch {
    return '/';
  }
  // Dot segments can leave a path starting with // ("/.//evil" is "//evil"): a browser reads that as another host.
  return url.origin === SELF && !url.pathname.startsWith('//') ? `${url.pathname}${url.search}${url.hash}` : '/';
}

/**
 * Browsers send Origin on form posts; a different one means another site is posting here. This site is
 * BGAGENT_PUBLIC_URL when set (a proxy may rewrite Host); otherwise the host as Fastify sees it, which
 * honours X-Forwarded-Host only from a proxy BGAGENT_TRUST_PROXY trusts (a forged one is ignored).
 */
function sameOrigin(req: FastifyRequest, publicOrigin: string | undefined): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return origin === undefined;
  try {
    const url = new URL(origin);
    return publicOrigin !== undefined ? url.origin === publicOrigin : url.host === req.host;
  } catch {
    return false;
  }
}
