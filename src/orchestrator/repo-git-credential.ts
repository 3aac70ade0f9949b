import { createHash } from 'node:crypto';
import { CredentialError, moveLiteralIntoDatabase, type DatabaseSecrets } from '../credentials/index.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { Repo } from '../tasks/task.js';
import type { GitAuth } from '../workspace/index.js';
import { cloneUrlUsername, splitClonePassword } from '../workspace/clone-url.js';
import { TaskFailure } from './failure.js';

/**
 * The database secret that holds a repository's git password or token: `repo-<name>-<hash>-git-token`
 * (`moved-git-token` for one moved out of a clone URL at start). The readable part alone is ambiguous
 * (`a/b` and `a.b`, `demo`'s moved token and `demo-moved`'s), so a hash of the whole name always follows
 * it: no repository, whatever its name, can write or delete another's secret.
 */
export function repoGitSecretName(repo: string, kind: 'git-token' | 'moved-git-token' = 'git-token'): string {
  const hash = createHash('sha256').update(repo).digest('hex').slice(0, 24);
  return `repo-${repo.replace(/[^A-Za-z0-9._-]/g, '.').slice(0, 80)}-${hash}-${kind}`;
}

/**
 * Git's credential for a repository GitHub's integration does not handle: its git credential reference,
 * resolved now, with the clone URL's user name (default `x-access-token`). None without a reference.
 * Why it does not resolve goes to the log: the task's owner (maybe no admin) sees only that it does not,
 * never the reference, which is the repository's setting.
 */
export async function repoGitAuth(repo: Repo, resolve: (ref: string) => Promise<string>, logger: Logger): Promise<GitAuth | undefined> {
  if (repo.gitCredentialRef === null) return undefined;
  try {
    return { token: await resolve(repo.gitCredentialRef), username: cloneUrlUsername(repo.cloneUrl) };
  } catch (err) {
    if (!(err instanceof CredentialError)) throw err;
    logger.warn({ repo: repo.name, reason: err.message, remedy: err.remedy }, "a repository's git credential cannot be resolved");
    throw new TaskFailure('GIT_CREDENTIAL_UNAVAILABLE', `the git credential of ${repo.name} cannot be resolved (an admin sees why in the server log and with \`bgagent doctor\`)`);
  }
}

/**
 * Run at `bgagent serve` start: a clone URL that still holds a password (stored before repositories had a git
 * credential) loses it; the password moves into the database's encrypted secrets and the repository names
 * it by its git credential reference. Idempotent, and safe with several processes starting at once.
 */
export async function moveClonePasswordsIntoDatabase(deps: { store: Store; secrets: DatabaseSecrets; logger: Logger }): Promise<void> {
  const { store, secrets, logger } = deps;
  for (const repo of await store.repos.list()) {
    const split = splitClonePassword(repo.cloneUrl);
    if (!split) continue;
    try {
      const ref = await moveLiteralIntoDatabase(secrets, repoGitSecretName(repo.name, 'moved-git-token'), split.password, (ref) =>
        store.repos.moveClonePassword(repo.name, repo.cloneUrl, { cloneUrl: split.url, gitCredentialRef: ref }),
      );
      if (ref) logger.info({ repo: repo.name, ref }, "moved the password in a repository's clone URL into the encrypted database secrets");
    } catch (err) {
      logger.error({ repo: repo.name, reason: (err as Error).message, remedy: (err as { remedy?: string }).remedy }, "the password in a repository's clone URL could not be moved into the database; `bgagent doctor` shows what is wrong");
    }
  }
}
