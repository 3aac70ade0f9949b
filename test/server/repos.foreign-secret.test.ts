import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, ownSecretReferences } from '../../src/config/config.js';
import { silentLogger } from '../../src/log.js';
import { gitCredentialPolicy, repoGitAuth, repoGitSecretName } from '../../src/orchestrator/repo-git-credential.js';
import { oauthTokenRef } from '../../src/linear/oauth/token-vault.js';
import { postgresSkipReason } from '../support/databases.js';
import { dumpDatabase } from '../support/db-dump.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * A db: secret is one bgagent keeps for one thing (a repository's git token, a Linear workspace's keys).
 * Naming another one's as a repository's git credential would make git send it to whatever host the clone
 * URL names: an admin token (a stolen one too) could take the Linear OAuth pair or another repository's
 * token off the server. Only the repository's own db: secrets may be named, and none of bgagent's own:
 * the variables its configuration reads, the references they hold, a Linear workspace's references (not
 * even when BGAGENT_GIT_CREDENTIAL_REFS lists them by a broad prefix).
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`a repository's git credential names no other's db: secret (${dialect})`, () => {
    let server: TestServer | undefined;
    afterEach(async () => {
      await server?.destroy();
      server = undefined;
    });

    it('is a 400 that changes nothing; its own db: reference is accepted', async () => {
      server = await startTestServer({ dialect });
      const repo = (name: string, extra: Record<string, unknown>) => ({ name, clone_url: 'https://git.example.com/x.git', agent: 'command', agent_settings: { command: 'true' }, ...extra });
      const victim = await server.api('POST', '/v1/repos', { body: repo('acme/victim', { git_token: 'victim_canary_token' }) });
      expect(victim.status, JSON.stringify(victim.body)).toBe(201);

      const before = await dumpDatabase(server.store);
      for (const ref of [`db:${repoGitSecretName('acme/victim')}`, `db:${repoGitSecretName('acme/victim', 'moved-git-token')}`, oauthTokenRef('org-1'), 'db:linear-org-1-api-key']) {
        const res = await server.api('POST', '/v1/repos', { body: repo('evil/thief', { clone_url: 'https://attacker.example/x.git', git_credential_ref: ref }) });
        expect(res.status, ref).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_ERROR');
        expect(res.body.error.message).toContain('git_credential_ref');
      }
      expect(await dumpDatabase(server.store)).toBe(before);

      // Added again naming its own secret: kept, not forgotten.
      const own = `db:${repoGitSecretName('acme/victim')}`;
      const again = await server.api('POST', '/v1/repos', { body: repo('acme/victim', { git_credential_ref: own }) });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body.repo.git_credential_ref).toBe(own);
      expect(await server.store.secrets.get(repoGitSecretName('acme/victim'))).toBeDefined();
    });

    it("is a 400 for a reference bgagent's own configuration or a Linear workspace uses, however it is spelled; other references are accepted", async () => {
      // Even a BGAGENT_GIT_CREDENTIAL_REFS that lists every server secret lets none of bgagent's own through.
      const everything = 'env:*,vault:*,aws-secrets-manager:*';
      const env = { LINEAR_WEBHOOK_SECRET: 'vault:hook-secret', GITHUB_TOKEN: 'aws-secrets-manager:prod/github#token', BGAGENT_GIT_CREDENTIAL_REFS: everything };
      server = await startTestServer({ dialect, env });
      await server.store.linear.upsertWorkspace({ id: 'org-1', urlKey: 'acme', name: 'Acme', apiKeyRef: 'vault:acme-linear-key', signingSecretRef: 'env:ACME_LINEAR_SIGNING', viewerId: null });
      const repo = (ref: string) => ({ name: 'evil/thief', clone_url: 'https://attacker.example/x.git', agent: 'command', agent_settings: { command: 'true' }, git_credential_ref: ref });
      expect((await server.api('GET', '/v1/repos')).status).toBe(200); // the token's first use is recorded
      const before = await dumpDatabase(server.store);
      const own = ['env:BGAGENT_VAULT_KEY', 'env:BGAGENT_DATABASE_URL', 'env: LINEAR_API_KEY', 'env:GITHUB_TOKEN', 'vault:hook-secret', 'aws-secrets-manager:prod/github', 'aws-secrets-manager:prod/github#other', 'vault:acme-linear-key', 'env:ACME_LINEAR_SIGNING'];
      for (const ref of own) {
        const res = await server.api('POST', '/v1/repos', { body: repo(ref) });
        expect(res.status, ref).toBe(400);
        expect(res.body.error.message).toContain('git_credential_ref');
      }
      expect(await dumpDatabase(server.store)).toBe(before);
      for (const ref of ['env:SITE_DEPLOY_TOKEN', 'vault:site-deploy-token', 'aws-secrets-manager:prod/site-deploy']) {
        const res = await server.api('POST', '/v1/repos', { body: repo(ref) });
        expect(res.status, `${ref}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
      }

      // A row holding one of them (written before the rule) is refused when a task would use it, before anything resolves it.
      const policy = () => gitCredentialPolicy(server!.store, everything.split(','), ownSecretReferences(loadConfig(env)));
      const resolved: string[] = [];
      const resolve = async (ref: string) => {
        resolved.push(ref);
        return 'secret';
      };
      const row = async (ref: string) => {
        await server!.store.repos.upsert({ name: 'evil/thief', cloneUrl: 'https://attacker.example/x.git', defaultBranch: 'main', agent: 'command', agentSettings: {}, gitCredentialRef: ref });
        return (await server!.store.repos.get('evil/thief'))!;
      };
      for (const ref of own) await expect(repoGitAuth(await row(ref), resolve, silentLogger, policy), ref).rejects.toMatchObject({ code: 'GIT_CREDENTIAL_UNAVAILABLE' });
      expect(resolved).toEqual([]);
      await expect(repoGitAuth(await row('env:SITE_DEPLOY_TOKEN'), resolve, silentLogger, policy)).resolves.toMatchObject({ token: 'secret' });
    });
  });
}
