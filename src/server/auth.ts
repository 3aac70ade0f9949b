import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/index.js';
import { ApiError } from '../tasks/errors.js';
import type { Task, User } from '../tasks/task.js';
import { authenticateSession, readSessionId } from './web/session.js';

/**
 * Who may call a route: anyone (`public`: health, pages, signed webhooks, which prove themselves), any
 * user with a token (`user`), the user whose task `:id` is, or an admin (`owner`), or an admin only.
 */
export const ACCESS_LEVELS = ['public', 'user', 'owner', 'admin'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** What a request authenticated with: an API token (by id) or a web session (by its cookie id). */
export type Credential = { kind: 'token'; tokenId: string } | { kind: 'session'; sessionId: string };

declare module 'fastify' {
  interface FastifyRequest {
    user: User;
    /** Set with `user`: long requests (event streams) check it again. */
    credential: Credential;
    /** On an `owner` route: the task `:id`, as the access check read it. */
    ownedTask: Task | undefined;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface DeclaredRoute {
  method: string;
  url: string;
  access: Access;
}

const declared = new WeakMap<FastifyInstance, DeclaredRoute[]>();

/** The routes of an app built with access control, each with who may call it. */
export function declaredRoutes(app: FastifyInstance): readonly DeclaredRoute[] {
  return declared.get(app) ?? [];
}

/**
 * The one place roles are checked. Call on the root instance before any route is registered: a route
 * that does not declare `config.access` stops the app from starting, and every request is checked
 * against its route's declaration.
 */
export function installAccessControl(app: FastifyInstance, store: Store): void {
  const routes: DeclaredRoute[] = [];
  declared.set(app, routes);
  app.decorateRequest('user', undefined as unknown as User);
  app.decorateRequest('ownedTask', undefined);
  app.decorateRequest('credential', undefined as never);
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: unknown } | undefined)?.access;
    if (!ACCESS_LEVELS.includes(access as Access)) throw new Error(`route ${String(route.method)} ${route.url} declares no access (config.access)`);
    if (access === 'owner' && !route.url.includes('/:id')) throw new Error(`route ${route.url} is for a task's owner but has no :id`);
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, access: access as Access });
  });
  app.addHook('onRequest', async (req) => {
    if (req.is404) return;
    const access = req.routeOptions.config.access!;
    if (access === 'public') return;
    ({ user: req.user, credential: req.credential } = await authenticate(store, req));
    if (access === 'admin' && !req.user.isAdmin) throw new ApiError('FORBIDDEN', 'this action needs an admin token');
    if (access === 'owner') await requireOwner(store, req);
  });
}

/** A bearer token; without an Authorization header, the web page's session cookie (with its CSRF check). */
async function authenticate(store: Store, req: FastifyRequest): Promise<{ user: User; credential: Credential }> {
  const header = req.headers.authorization;
  const sessionId = header === undefined ? readSessionId(req) : undefined;
  if (sessionId !== undefined) return { user: await authenticateSession(store, req, sessionId), credential: { kind: 'session', sessionId } };
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match) throw new ApiError('UNAUTHORIZED', 'missing API token: send "Authorization: Bearer <token>"');
  const found = await store.users.authenticateToken(match[1]!);
  if (!found) throw new ApiError('UNAUTHORIZED', 'invalid or revoked API token');
  return { user: found.user, credential: { kind: 'token', tokenId: found.tokenId } };
}

/** Another user's task is answered as missing, so its existence is not revealed. */
async function requireOwner(store: Store, req: FastifyRequest): Promise<void> {
  const id = (req.params as { id: string }).id;
  const task = await store.tasks.get(id);
  if (!task || (task.userId !== req.user.id && !req.user.isAdmin)) throw new ApiError('TASK_NOT_FOUND', `task ${id} not found`);
  req.ownedTask = task;
}
