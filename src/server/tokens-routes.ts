import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../store/index.js';
import { ApiError } from '../tasks/errors.js';
import { validationMessage } from '../tasks/create-task.js';
import type { ApiTokenInfo } from '../store/users.js';

const tokenBody = z.strictObject({
  user: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/, 'user must be a name of letters, digits and . _ @ -'),
  name: z.string().trim().min(1).max(100).default('default'),
  max_concurrent: z.number().int().min(1).max(1000).optional(),
});

function tokenJson(t: ApiTokenInfo) {
  return {
    id: t.id,
    user: t.userName,
    name: t.name,
    prefix: t.prefix,
    created_at: new Date(t.createdAt).toISOString(),
    last_used_at: t.lastUsedAt === null ? null : new Date(t.lastUsedAt).toISOString(),
    revoked_at: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
  };
}

/** API tokens: admins create them for users (a user is created with their first token). */
export async function tokensRoutes(app: FastifyInstance, deps: { store: Store }): Promise<void> {
  const { store } = deps;

  app.post('/tokens', { config: { access: 'admin' }, bodyLimit: 16 * 1024 }, async (req, reply) => {
    const parsed = tokenBody.safeParse(req.body ?? {});
    if (!parsed.success) throw new ApiError('VALIDATION_ERROR', validationMessage(parsed.error));
    const user = await store.users.ensure(parsed.data.user);
    if (parsed.data.max_concurrent !== undefined) await store.users.setMaxConcurrent(user.id, parsed.data.max_concurrent);
    const { token, info } = await store.users.createToken(user.id, parsed.data.name);
    return reply.status(201).send({ token, info: tokenJson(info) });
  });

  // A user sees and revokes its own tokens; an admin, everyone's.
  app.get('/tokens', { config: { access: 'user' } }, async (req) => {
    const all = await store.users.listTokens();
    return { tokens: all.filter((t) => req.user.isAdmin || t.userId === req.user.id).map(tokenJson) };
  });

  app.delete<{ Params: { id: string } }>('/tokens/:id', { config: { access: 'user' } }, async (req) => {
    const token = (await store.users.listTokens()).find((t) => t.id === req.params.id);
    if (!token || (!req.user.isAdmin && token.userId !== req.user.id)) throw new ApiError('NOT_FOUND', `token ${req.params.id} not found`);
    if (!(await store.users.revokeToken(token.id))) throw new ApiError('CONFLICT', `token ${req.params.id} is already revoked`);
    return { revoked: token.id };
  });

  app.get('/me', { config: { access: 'user' } }, async (req) => ({ user: { id: req.user.id, name: req.user.name, is_admin: req.user.isAdmin } }));
}
