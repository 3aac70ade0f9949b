import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Store } from '../store/index.js';
import { ApiError } from '../tasks/errors.js';
import { repoNameSchema, validationMessage } from '../tasks/create-task.js';
import type { Repo } from '../tasks/task.js';
import { cloneUrlProblem } from '../workspace/clone-url.js';
import { repoJson } from './serialize.js';

export const AGENT_NAMES = ['command', 'claude'] as const;

const repoBody = (dataDir: string | undefined) => z
  .strictObject({
    name: repoNameSchema,
    clone_url: z
      .string()
      .max(2000)
      .superRefine((u, ctx) => {
        const problem = cloneUrlProblem(u, { dataDir });
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    default_branch: z.string().regex(/^[A-Za-z0-9._/-]{1,200}$/, 'default_branch is not a valid branch name').default('main'),
    agent: z.enum(AGENT_NAMES).default('command'),
    agent_settings: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((r, ctx) => {
    if (r.agent === 'command' && typeof r.agent_settings.command !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['agent_settings', 'command'], message: 'the command agent needs agent_settings.command (a shell command)' });
    }
  });

/** A repository's settings and clone URL are for admins; a user sees what it may submit to. */
function repoFor(req: FastifyRequest, r: Repo) {
  return req.user.isAdmin ? repoJson(r) : { name: r.name, default_branch: r.defaultBranch };
}

export async function reposRoutes(app: FastifyInstance, deps: { store: Store; dataDir?: string }): Promise<void> {
  const { store } = deps;

  app.post('/repos', { config: { access: 'admin' }, bodyLimit: 64 * 1024 }, async (req, reply) => {
    const parsed = repoBody(deps.dataDir).safeParse(req.body ?? {});
    if (!parsed.success) throw new ApiError('VALIDATION_ERROR', validationMessage(parsed.error));
    const b = parsed.data;
    const { repo, created } = await store.repos.upsert({
      name: b.name,
      cloneUrl: b.clone_url,
      defaultBranch: b.default_branch,
      agent: b.agent,
      agentSettings: b.agent_settings,
    });
    return reply.status(created ? 201 : 200).send({ repo: repoJson(repo) });
  });

  app.get('/repos', { config: { access: 'user' } }, async (req) => ({ repos: (await store.repos.list()).map((r) => repoFor(req, r)) }));

  // Repository names may hold one slash (owner/name), so the name is the rest of the path.
  app.get<{ Params: { '*': string } }>('/repos/*', { config: { access: 'user' } }, async (req) => {
    const repo = await store.repos.get(req.params['*']);
    if (!repo) throw new ApiError('NOT_FOUND', `repository "${req.params['*']}" is not onboarded`);
    return { repo: repoFor(req, repo) };
  });

  app.delete<{ Params: { '*': string } }>('/repos/*', { config: { access: 'admin' } }, async (req) => {
    if (!(await store.repos.remove(req.params['*']))) throw new ApiError('NOT_FOUND', `repository "${req.params['*']}" is not onboarded`);
    return { removed: req.params['*'] };
  });
}
