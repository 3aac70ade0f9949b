import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/index.js';
import { ApiError } from '../tasks/errors.js';
import type { User } from '../tasks/task.js';
import { authenticateSession, readSessionToken } from './web/session.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: User;
  }
}

/**
 * Bearer-token authentication for every route registered in the calling plugin's scope; without an
 * Authorization header, the web page's session cookie (with its CSRF check) is accepted instead.
 * Public routes (health, signed webhooks) live in their own scopes and never see this hook.
 */
export function requireApiToken(app: FastifyInstance, store: Store): void {
  app.decorateRequest('user', undefined as unknown as User);
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization;
    const session = header === undefined ? readSessionToken(req) : undefined;
    if (session !== undefined) {
      req.user = await authenticateSession(store, req, session);
      return;
    }
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    if (!match) throw new ApiError('UNAUTHORIZED', 'missing API token: send "Authorization: Bearer <token>"');
    const user = await store.users.authenticate(match[1]!);
    if (!user) throw new ApiError('UNAUTHORIZED', 'invalid or revoked API token');
    req.user = user;
  });
}

export function requireAdmin(req: FastifyRequest): void {
  if (!req.user.isAdmin) throw new ApiError('FORBIDDEN', 'this action needs an admin token');
}
