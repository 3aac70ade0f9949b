import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { keepInDatabase, type DatabaseSecrets } from '../credentials/index.js';
import { gitCredentialPolicy, gitCredentialRefRefusal, ownGitSecretRefs, repoGitSecretName } from '../orchestrator/repo-git-credential.js';
import type { Store } from '../store/index.js';
import { ApiError } from '../tasks/errors.js';
import { repoNameSchema, validationMessage } from '../tasks/create-task.js';
import type { Repo } from '../tasks/task.js';
import { cloneUrlHasPassword, cloneUrlProblem, splitClonePassword } from '../workspace/clone-url.js';
import { literalOf } from './secret-fields.js';
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
    /** A credential reference for git over http(s); a value given here is kept encrypted like git_token. */
    git_credential_ref: z.string().min(1).max(2000).optional(),
    /** The password or token itself, kept encrypted in the database. */
    git_token: z.string().min(1).max(2000).optional(),
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

export interface ReposRouteDeps {
  store: Store;
  dataDir?: string;
  /** Where a git password or token given as a value is kept (encrypted); without it, such a request is refused. */
  secrets?: { secrets: DatabaseSecrets; credentials?: { invalidate(ref: string): void } };
  /** bgagent's own secret references (its configuration's, see ownSecretReferences): no git credential may name one. */
  ownSecretRefs?: readonly string[];
  /** BGAGENT_GIT_CREDENTIAL_REFS: the server secrets a git credential may name besides the repository's own db: secret. */
  gitCredentialRefs?: readonly string[];
}

export async function reposRoutes(app: FastifyInstance, deps: ReposRouteDeps): Promise<void> {
  const { store } = deps;

  /** Drops a secret kept for the repository that its row no longer names. */
  async function forgetReplaced(name: string, before: string | null | undefined, after: string | null): Promise<void> {
    if (before && before !== after && ownGitSecretRefs(name).includes(before)) await deps.secrets?.secrets.remove(before.slice('db:'.length));
  }

  app.post('/repos', { config: { access: 'admin' }, bodyLimit: 64 * 1024 }, async (req, reply) => {
    const parsed = repoBody(deps.dataDir).safeParse(req.body ?? {});
    if (!parsed.success) throw new ApiError('VALIDATION_ERROR', validationMessage(parsed.error));
    const b = parsed.data;
    // A password in the URL is a git credential given as a value: the row keeps the URL without it.
    const split = splitClonePassword(b.clone_url);
    if (!split && cloneUrlHasPassword(b.clone_url)) throw new ApiError('VALIDATION_ERROR', 'clone_url: only an https:// or http:// URL may carry a password (ssh uses keys); give it as git_token');
    if ([split, b.git_token, b.git_credential_ref].filter((x) => x !== undefined).length > 1) {
      throw new ApiError('VALIDATION_ERROR', 'give the git credential one way: git_token, git_credential_ref or a password in clone_url');
    }
    const value = b.git_token ?? literalOf(b.git_credential_ref, 'git_credential_ref') ?? split?.password;
    if (value === undefined && b.git_credential_ref !== undefined) {
      const policy = await gitCredentialPolicy(store, deps.gitCredentialRefs ?? [], deps.ownSecretRefs ?? []);
      const refusal = gitCredentialRefRefusal(b.name, b.git_credential_ref, policy);
      if (refusal !== undefined) throw new ApiError('VALIDATION_ERROR', `git_credential_ref: ${refusal}`);
    }
    let ref = b.git_credential_ref ?? null;
    if (value !== undefined) {
      if (!deps.secrets) throw new ApiError('SERVICE_UNAVAILABLE', 'this server cannot keep secrets: give git_credential_ref as a reference (env:…, vault:…)');
      ref = await keepInDatabase(deps.secrets.secrets, repoGitSecretName(b.name), value, deps.secrets.credentials);
    }
    const before = await store.repos.get(b.name);
    const { repo, created } = await store.repos.upsert({
      name: b.name,
      cloneUrl: split?.url ?? b.clone_url,
      defaultBranch: b.default_branch,
      agent: b.agent,
      agentSettings: b.agent_settings,
      gitCredentialRef: ref,
    });
    await forgetReplaced(b.name, before?.gitCredentialRef, ref);
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
    const before = await store.repos.get(req.params['*']);
    if (!(await store.repos.remove(req.params['*']))) throw new ApiError('NOT_FOUND', `repository "${req.params['*']}" is not onboarded`);
    await forgetReplaced(req.params['*'], before?.gitCredentialRef, null);
    return { removed: req.params['*'] };
  });
}
