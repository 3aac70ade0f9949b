import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../store/index.js';
import type { LinearTeamRepo } from '../store/linear-sessions.js';
import { repoNameSchema, validationMessage } from '../tasks/create-task.js';
import { ApiError } from '../tasks/errors.js';

const teamRepoBody = z.strictObject({ team_id: z.string().trim().min(1).max(100), repo: repoNameSchema });

const teamRepoJson = (t: LinearTeamRepo) => ({ team_id: t.team_id, repo: t.repo, updated_at: new Date(t.updated_at).toISOString() });

/**
 * Teams' default repositories under /v1/linear/team-repos (admin token): an agent session on an issue whose
 * project is not mapped works in its team's default repository.
 */
export async function linearSessionRoutes(api: FastifyInstance, deps: { store: Store }): Promise<void> {
  const { store } = deps;

  api.post('/linear/team-repos', { config: { access: 'admin' }, bodyLimit: 16 * 1024 }, async (req, reply) => {
    const parsed = teamRepoBody.safeParse(req.body ?? {});
    if (!parsed.success) throw new ApiError('VALIDATION_ERROR', validationMessage(parsed.error));
    const { team_id: teamId, repo } = parsed.data;
    if (!(await store.repos.get(repo))) throw new ApiError('REPO_NOT_ONBOARDED', `repository "${repo}" is not onboarded; add it with: bgagent repo add ${repo} --url <clone-url>`);
    const { teamRepo, created } = await store.linearSessions.setTeamRepo(teamId, repo);
    return reply.status(created ? 201 : 200).send({ team_repo: teamRepoJson(teamRepo) });
  });

  api.get('/linear/team-repos', { config: { access: 'admin' } }, async () => ({ team_repos: (await store.linearSessions.listTeamRepos()).map(teamRepoJson) }));

  api.delete<{ Params: { teamId: string } }>('/linear/team-repos/:teamId', { config: { access: 'admin' } }, async (req) => {
    if (!(await store.linearSessions.removeTeamRepo(req.params.teamId))) throw new ApiError('NOT_FOUND', `team ${req.params.teamId} has no default repository`);
    return { removed: req.params.teamId };
  });
}
