import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerCredentialProvider } from '../../src/credentials/providers/aws-secrets-manager.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { capturedLogger, FAKE_AWS_CREDENTIALS, LEVEL, startAwsStub, type AwsStub, type StubReply, type StubRequest } from './aws-stub.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bgagent/linear-AbCdEf';
let dataDir: string;
let stub: AwsStub;
let reply: (req: StubRequest) => StubReply;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bgagent-sm-'));
  stub = await startAwsStub((req) => reply(req));
});
afterEach(async () => {
  await stub.close();
  await rm(dataDir, { recursive: true, force: true });
});

const ok = (body: Record<string, unknown>): StubReply => ({ status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: { ARN, Name: 'bgagent/linear', VersionId: 'v1', ...body } });
const awsError = (status: number, type: string, message = `${type} from stub`): StubReply => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: { __type: `com.amazonaws.secretsmanager#${type}`, message },
});

function resolverWith(opts: { region?: string | undefined } = {}) {
  const log = capturedLogger();
  const resolver = new CredentialResolver({
    dataDir,
    awsRegion: 'region' in opts ? opts.region : 'eu-west-1',
    awsEndpoint: stub.endpoint,
    awsCredentials: FAKE_AWS_CREDENTIALS,
    logger: log.logger,
    retry: { attempts: 3, baseDelayMs: 1 },
  });
  return { resolver, log };
}

describe('aws-secrets-manager provider (real SDK client, local stub)', () => {
  it('resolves a plain string secret with a signed GetSecretValue call', async () => {
    reply = () => ok({ SecretString: 'lin_api_from_sm' });
    const { resolver } = resolverWith();
    expect((await resolver.resolve(`aws-secrets-manager:${ARN}`)).reveal()).toBe('lin_api_from_sm');
    expect(stub.requests).toHaveLength(1);
    const req = stub.requests[0]!;
    expect(req.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(req.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(req.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/);
    expect(req.json).toEqual({ SecretId: ARN });
  });

  it('selects one key of a JSON secret', async () => {
    reply = () => ok({ SecretString: JSON.stringify({ apiKey: 'lin_api_json', webhookSecret: 'whsec' }) });
    const { resolver } = resolverWith();
    expect((await resolver.resolve('aws-secrets-manager:bgagent/linear#apiKey')).reveal()).toBe('lin_api_json');
  });

  it('names a missing JSON key (and the keys present) as a persistent error, without values', async () => {
    reply = () => ok({ SecretString: JSON.stringify({ apiKey: 'lin_api_json', other: 'zzz-value' }) });
    const { resolver, log } = resolverWith();
    const err = await resolver.resolve('aws-secrets-manager:bgagent/linear#token').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'persistent', code: 'MissingJsonKey', message: 'aws-secrets-manager:bgagent/linear#token: the secret has no key "token"', remedy: 'use one of its keys: apiKey, other' });
    expect(log.lines.filter((l) => l.level === LEVEL.error)).toHaveLength(1);
    expect(log.text()).not.toMatch(/lin_api_json|zzz-value/);
  });

  it('reports a non-JSON secret read with #key, and an empty secret, as persistent', async () => {
    reply = () => ok({ SecretString: 'not-json' });
    const { resolver } = resolverWith();
    await expect(resolver.resolve('aws-secrets-manager:s#k')).rejects.toMatchObject({ kind: 'persistent', code: 'NotJson' });
    reply = () => ok({});
    await expect(resolver.resolve('aws-secrets-manager:s')).rejects.toMatchObject({ kind: 'persistent', code: 'EmptySecret' });
  });

  it.each([
    [400, 'AccessDeniedException', /grant secretsmanager:GetSecretValue/],
    [400, 'ResourceNotFoundException', /create-secret --name bgagent\/linear/],
    [400, 'ValidationException', /check the reference/],
    [400, 'DecryptionFailure', /check the reference/],
  ])('classifies %s %s as persistent: ERROR once, no retry, with a remedy', async (status, type, remedy) => {
    reply = () => awsError(status, type);
    const { resolver, log } = resolverWith();
    const err = await resolver.resolve('aws-secrets-manager:bgagent/linear').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CredentialError', kind: 'persistent', code: type });
    expect((err as Error).message).toMatch(new RegExp(`^aws-secrets-manager:bgagent/linear: secretsmanager:GetSecretValue failed: ${type}`));
    expect((err as { remedy: string }).remedy).toMatch(remedy);
    expect(stub.requests).toHaveLength(1);
    await resolver.resolve('aws-secrets-manager:bgagent/linear').catch(() => undefined);
    const errors = log.lines.filter((l) => l.level === LEVEL.error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ ref: 'aws-secrets-manager:bgagent/linear', kind: 'persistent', code: type });
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(0);
  });

  it.each([
    [400, 'ThrottlingException'],
    [500, 'InternalServiceError'],
    [503, 'ServiceUnavailable'],
  ])('classifies %s %s as transient: WARN and retried', async (status, type) => {
    reply = () => awsError(status, type);
    const { resolver, log } = resolverWith();
    await expect(resolver.resolve('aws-secrets-manager:s')).rejects.toMatchObject({ kind: 'transient', code: type });
    expect(stub.requests).toHaveLength(3);
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(3);
    expect(log.lines.filter((l) => l.level === LEVEL.error)).toHaveLength(0);
  });

  it('recovers when a transient failure passes', async () => {
    let n = 0;
    reply = () => (++n === 1 ? awsError(400, 'ThrottlingException') : ok({ SecretString: 'after-throttle' }));
    const { resolver } = resolverWith();
    expect((await resolver.resolve('aws-secrets-manager:s')).reveal()).toBe('after-throttle');
    expect(stub.requests).toHaveLength(2);
  });

  it('treats a dropped connection as a transient network error', async () => {
    reply = () => ({ status: 0, destroy: true });
    const { resolver } = resolverWith();
    await expect(resolver.resolve('aws-secrets-manager:s')).rejects.toMatchObject({ kind: 'transient' });
    expect(stub.requests).toHaveLength(3);
  });

  it('without a region: unavailable, WARN, and no request', async () => {
    reply = () => ok({ SecretString: 'x' });
    const { resolver, log } = resolverWith({ region: undefined });
    await expect(resolver.resolve('aws-secrets-manager:s')).rejects.toMatchObject({ kind: 'unavailable', remedy: 'set AWS_REGION (or AWS_DEFAULT_REGION)' });
    expect(stub.requests).toHaveLength(0);
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(1);
    expect(log.lines.filter((l) => l.level === LEVEL.error)).toHaveLength(0);
  });

  it('without the SDK package installed: unavailable with a WARN', async () => {
    const log = capturedLogger();
    const provider = new SecretsManagerCredentialProvider({
      region: 'eu-west-1',
      loadSdk: () => import('@aws-sdk/client-not-installed-' + 'xyz') as never,
    });
    const resolver = new CredentialResolver({ dataDir, logger: log.logger, providers: { 'aws-secrets-manager': provider } });
    await expect(resolver.resolve('aws-secrets-manager:s')).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/is not installed/) });
    expect(await resolver.check('aws-secrets-manager:s')).toMatchObject({ status: 'unavailable', remedy: 'npm install @aws-sdk/client-secrets-manager' });
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(1);
  });
});
