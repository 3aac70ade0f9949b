import { describe, expect, it } from 'vitest';
import { CredentialError } from '../../src/credentials/errors.js';
import { displayReference, parseCredentialReference } from '../../src/credentials/reference.js';

describe('parseCredentialReference', () => {
  it('parses each reference form', () => {
    expect(parseCredentialReference('env:GITHUB_TOKEN')).toEqual({ kind: 'env', name: 'GITHUB_TOKEN', display: 'env:GITHUB_TOKEN' });
    expect(parseCredentialReference('vault:linear-api-key')).toMatchObject({ kind: 'vault', name: 'linear-api-key' });
    expect(parseCredentialReference('aws-secrets-manager:prod/linear')).toMatchObject({ kind: 'aws-secrets-manager', secretId: 'prod/linear', jsonKey: undefined });
    expect(parseCredentialReference('agentcore:linear-api-key')).toMatchObject({ kind: 'agentcore', provider: 'linear-api-key' });
    expect(parseCredentialReference('agentcore-oauth:github')).toMatchObject({ kind: 'agentcore-oauth', provider: 'github', scopes: [] });
    expect(parseCredentialReference('agentcore-oauth:github#repo, read:org')).toMatchObject({ scopes: ['repo', 'read:org'] });
  });

  it('keeps the colons of an ARN and splits the JSON key at #', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bgagent/linear-AbCdEf';
    expect(parseCredentialReference(`aws-secrets-manager:${arn}#apiKey`)).toMatchObject({ kind: 'aws-secrets-manager', secretId: arn, jsonKey: 'apiKey' });
    expect(parseCredentialReference(`aws-secrets-manager:${arn}`)).toMatchObject({ secretId: arn, jsonKey: undefined });
  });

  it('treats anything without a known prefix as a literal that is never displayed', () => {
    for (const raw of ['lin_api_abc123', 'https://x:y@host', 'ghp_:weird', 'Env:X']) {
      const ref = parseCredentialReference(raw);
      expect(ref).toMatchObject({ kind: 'literal', value: raw, display: '(literal value)' });
      expect(displayReference(raw)).toBe('(literal value)');
    }
  });

  it('rejects malformed references with a persistent error and a remedy', () => {
    for (const raw of ['env:', 'env:1BAD', 'vault:has space', 'aws-secrets-manager:', 'aws-secrets-manager:name#', 'agentcore:', 'agentcore-oauth:#scope']) {
      let err: unknown;
      try {
        parseCredentialReference(raw);
      } catch (e) {
        err = e;
      }
      expect(err, raw).toBeInstanceOf(CredentialError);
      expect((err as CredentialError).kind).toBe('persistent');
      expect((err as CredentialError).remedy).toBeTruthy();
    }
  });
});
