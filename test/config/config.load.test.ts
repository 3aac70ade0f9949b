import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('configuration', () => {
  it('has sane defaults', () => {
    const c = loadConfig({ HOME: '/home/x', BGAGENT_DATA_DIR: '/tmp/bg' });
    expect(c).toMatchObject({ dataDir: '/tmp/bg', host: '127.0.0.1', port: 8080, maxConcurrentPerUser: 3, taskTimeoutMs: 7_200_000, databaseUrl: undefined });
    expect(c.linear.apiKeyRef).toBe('vault:linear-api-key');
  });

  it('names the AgentCore provider for a bare agentcore Linear key', () => {
    expect(loadConfig({ LINEAR_API_KEY: 'agentcore' }).linear.apiKeyRef).toBe('agentcore:linear-api-key');
    expect(loadConfig({ LINEAR_API_KEY: 'agentcore:', LINEAR_API_KEY_PROVIDER_NAME: 'lin' }).linear.apiKeyRef).toBe('agentcore:lin');
    expect(loadConfig({ LINEAR_API_KEY: 'agentcore:other' }).linear.apiKeyRef).toBe('agentcore:other');
  });

  it('names every bad variable in one error', () => {
    const err = (() => {
      try {
        loadConfig({ BGAGENT_PORT: 'eighty', BGAGENT_MAX_CONCURRENT_PER_USER: '0' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toContain('BGAGENT_PORT');
    expect(err!.message).toContain('BGAGENT_MAX_CONCURRENT_PER_USER');
    expect(() => loadConfig({ BGAGENT_DATABASE_URL: 'mysql://x' })).toThrow(/postgres/);
  });

  it('reads BGAGENT_GIT_CREDENTIAL_REFS as references or prefixes, never db: (a repository names only its own)', () => {
    expect(loadConfig({}).gitCredentialRefs).toEqual([]);
    expect(loadConfig({ BGAGENT_GIT_CREDENTIAL_REFS: ' env:GITLAB_TOKEN, aws-secrets-manager:git/* ,' }).gitCredentialRefs).toEqual(['env:GITLAB_TOKEN', 'aws-secrets-manager:git/*']);
    for (const bad of ['db:*', 'db:repo-x', 'GITLAB_TOKEN', 'env:A*B', '*']) {
      expect(() => loadConfig({ BGAGENT_GIT_CREDENTIAL_REFS: bad }), bad).toThrow(/BGAGENT_GIT_CREDENTIAL_REFS/);
    }
  });
});
