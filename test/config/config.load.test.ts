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
});
