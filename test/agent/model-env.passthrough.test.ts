import { describe, expect, it } from 'vitest';
import { buildModelEnv } from '../../src/agent/model-env.js';

const AWS = {
  AWS_ACCESS_KEY_ID: 'CANARY-AKID',
  AWS_SECRET_ACCESS_KEY: 'CANARY-AWS-SECRET',
  AWS_SESSION_TOKEN: 'CANARY-AWS-SESSION',
  AWS_PROFILE: 'platform',
  AWS_REGION: 'eu-west-1',
};

describe('the model environment passed to the agent', () => {
  it('carries none of the platform\'s AWS settings when the model is not on Bedrock', async () => {
    const env = await buildModelEnv({ env: { ...AWS, GITHUB_TOKEN: 'CANARY-GH', LINEAR_API_KEY: 'CANARY-LIN', DISABLE_TELEMETRY: '1' }, baseUrl: 'http://127.0.0.1:1' });
    expect(env).toEqual({ DISABLE_TELEMETRY: '1', ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' });
  });

  it('passes them only when Claude Code is told to use Bedrock', async () => {
    expect(await buildModelEnv({ env: { ...AWS, CLAUDE_CODE_USE_BEDROCK: '0' } })).toEqual({ CLAUDE_CODE_USE_BEDROCK: '0' });
    expect(await buildModelEnv({ env: { ...AWS, CLAUDE_CODE_USE_BEDROCK: '1', GITHUB_TOKEN: 'CANARY-GH' } })).toEqual({ ...AWS, CLAUDE_CODE_USE_BEDROCK: '1' });
  });
});
