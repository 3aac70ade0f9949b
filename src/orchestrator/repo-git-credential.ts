import { createHash } from 'node:crypto';
import { CredentialError, databaseSecretRef, moveLiteralIntoDatabase, parseCredentialReference, type DatabaseSecrets } from '../credentials/index.js';
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

/** The secret a reference names, however it is spelled (a JSON key picks from the same secret); undefined for a value. */
export function secretNamed(raw: string): string | undefined {
  const r = parseCredentialReference(raw);
  switch (r.kind) {
    case 'literal':
      return undefined;
    case 'aws-secrets-manager':
      return `${r.kind}:${r.secretId}`;
    case 'agentcore':
    case 'agentcore-oauth':
      return `${r.kind}:${r.provider}`;
    default:
      return `${r.kind}:${r.name}`;
  }
}

/** The database secrets kept for a repository's git credential (given as a value, or moved out of its clone URL). */
export const ownGitSecretRefs = (repo: string): string[] => [databaseSecretRef(repoGitSecretName(repo)), databaseSecretRef(repoGitSecretName(repo, 'moved-git-token'))];

/** Which server secrets a repository's git credential may name (see gitCredentialRefRefusal). */
export interface GitCredentialPolicy {
  /** BGAGENT_GIT_CREDENTIAL_REFS: references, or prefixes ending in `*`. */
  allowed: readonly string[];
  /** bgagent's own secrets (its configuration's, every Linear workspace's): never, whatever `allowed` says. */
  serverSecrets: readonly string[];
}

/** The policy as the database and this configuration have it now: one query for the Linear workspaces' references. */
export async function gitCredentialPolicy(store: Store, allowed: readonly string[], configSecrets: readonly string[]): Promise<GitCredentialPolicy> {
  const workspaces = await store.linear.listWorkspaces();
  return { allowed, serverSecrets: [...configSecrets, ...workspaces.flatMap((w) => (w.signing_secret_ref === null ? [w.api_key_ref] : [w.api_key_ref, w.signing_secret_ref]))] };
}

/**
 * Why a repository may not use this git credential reference, or undefined when it may. Git sends the secret
 * to the clone URL's host, which an admin token chooses: so a reference may name only the repository's own
 * db: secret, or a server secret the operator lists in BGAGENT_GIT_CREDENTIAL_REFS (exactly, or by a prefix
 * ending in `*`) that is not one bgagent itself uses (a broad prefix such as env:* would cover those). A value
 * (no reference) names no server secret. A malformed reference is refused.
 */
export function gitCredentialRefRefusal(repo: string, ref: string, policy: GitCredentialPolicy): string | undefined {
  let named: string | undefined;
  try {
    named = secretNamed(ref);
  } catch (err) {
    if (err instanceof CredentialError) return err.message;
    throw err;
  }
  if (named === undefined) return undefined;
  if (named.startsWith('db:')) {
    return ownGitSecretRefs(repo).includes(named) ? undefined : `${named} is not a secret kept for ${repo}; give the token as git_token`;
  }
  if (policy.serverSecrets.some((own) => safeSecretNamed(own) === named)) {
    return `${ref} names one of bgagent's own secrets (its configuration's or a Linear workspace's); give the repository its own token`;
  }
  const listed = policy.allowed.some((entry) => (entry.endsWith('*') ? named.startsWith(entry.slice(0, -1)) : secretNamed(entry) === named));
  return listed ? undefined : `${named} is not a server secret repositories may use: the operator lists those in BGAGENT_GIT_CREDENTIAL_REFS (references, or prefixes ending in *), or give the token as git_token`;
}

/** secretNamed for a reference stored elsewhere, which may be malformed (it then names no secret). */
function safeSecretNamed(ref: string): string | undefined {
  try {
    return secretNamed(ref);
  } catch {
    return undefined;
  }
}

/**
 * Git's credential for a repository GitHub's integration does not handle: its git credential reference,
 * resolved now, with the clone URL's user name (default `x-access-token`). None without a reference.
 * Why it does not resolve goes to the log: the task's owner (maybe no admin) sees only that it does not,
 * never the reference, which is the repository's setting.
 */
export async function repoGitAuth(repo: Repo, resolve: (ref: string) => Promise<string>, logger: Logger, policy: () => Promise<GitCredentialPolicy>): Promise<GitAuth | undefined> {
  if (repo.gitCredentialRef === null) return undefined;
  // A row written before the rule (or since unlisted) is held to it too.
  const refusal = gitCredentialRefRefusal(repo.name, repo.gitCredentialRef, await policy());
  if (refusal !== undefined) {
    logger.warn({ repo: repo.name, reason: refusal }, "a repository's git credential names a secret it may not use");
    throw new TaskFailure('GIT_CREDENTIAL_UNAVAILABLE', `the git credential of ${repo.name} names a secret repositories may not use (an admin sees why in the server log and with \`bgagent doctor\`)`);
  }
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
