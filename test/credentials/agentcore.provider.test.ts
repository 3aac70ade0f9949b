import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runWithWorkloadAccessToken, workloadAccessTokenFromHeaders } from '../../src/credentials/agentcore-context.js';
import { AgentCoreCredentialProvider } from '../../src/credentials/providers/agentcore.js';
import { CredentialResolver, type CredentialResolverOptions } from '../../src/credentials/resolver.js';
import { capturedLogger, FAKE_AWS_CREDENTIALS, LEVEL, startAwsStub, type AwsStub, type StubReply, type StubRequest } from './aws-stub.js';

let dataDir: string;
let stub: AwsStub;
let reply: (req: StubRequest) => StubReply;

/** Answers like AgentCore Identity: a workload token, then the API key or OAuth2 token. */
const service = (overrides: Partial<Record<string, StubReply>> = {}) => (req: StubRequest): StubReply => {
  const o = overrides[req.path];
  if (o) return o;
  switch (req.path) {
    case '/identities/GetWorkloadAccessToken':
      return { status: 200, body: { workloadAccessToken: `wat-for-${String(req.json.workloadName)}` } };
    case '/identities/api-key':
      return { status: 200, body: { apiKey: `api-key-of-${String(req.json.resourceCredentialProviderName)}` } };
    case '/identities/oauth2/token':
      return { status: 200, body: { accessToken: `oauth-token-of-${String(req.json.resourceCredentialProviderName)}` } };
    default:
      return { status: 404, headers: { 'x-amzn-errortype': 'UnknownOperationException' }, body: { message: 'no such path' } };
  }
};
const awsError = (status: number, type: string): StubReply => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.bedrockagentcore/` },
  body: { message: `${type} from stub` },
});

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bgagent-ac-'));
  reply = service();
  stub = await startAwsStub((req) => reply(req));
});
afterEach(async () => {
  await stub.close();
  await rm(dataDir, { recursive: true, force: true });
});

function resolverWith(opts: Partial<CredentialResolverOptions> = {}) {
  const log = capturedLogger();
  const resolver = new CredentialResolver({
    dataDir,
    awsRegion: 'us-east-1',
    agentcoreWorkloadName: 'bgagent-workload',
    awsEndpoint: stub.endpoint,
    awsCredentials: FAKE_AWS_CREDENTIALS,
    workloadAccessToken: () => undefined,
    logger: log.logger,
    retry: { attempts: 3, baseDelayMs: 1 },
    ...opts,
  });
  return { resolver, log };
}

describe('agentcore provider (real SDK client, local stub)', () => {
  it('gets a workload token with GetWorkloadAccessToken, then the API key with GetResourceApiKey', async () => {
    const { resolver } = resolverWith();
    expect((await resolver.resolve('agentcore:linear-api-key')).reveal()).toBe('api-key-of-linear-api-key');
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /identities/GetWorkloadAccessToken', 'POST /identities/api-key']);
    expect(stub.requests[0]!.json).toEqual({ workloadName: 'bgagent-workload' });
    expect(stub.requests[1]!.json).toEqual({ workloadIdentityToken: 'wat-for-bgagent-workload', resourceCredentialProviderName: 'linear-api-key' });
    expect(stub.requests[1]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock-agentcore\/aws4_request/);
  });

  it('uses the workload token of the current AgentCore Runtime request and makes no GetWorkloadAccessToken call', async () => {
    const { resolver } = resolverWith({ workloadAccessToken: undefined, agentcoreWorkloadName: undefined });
    const headers = { 'content-type': 'application/json', workloadaccesstoken: 'wat-from-runtime' };
    const secret = await runWithWorkloadAccessToken(workloadAccessTokenFromHeaders(headers), () => resolver.resolve('agentcore:linear-api-key'));
    expect(secret.reveal()).toBe('api-key-of-linear-api-key');
    expect(stub.requests.map((r) => r.path)).toEqual(['/identities/api-key']);
    expect(stub.requests[0]!.json.workloadIdentityToken).toBe('wat-from-runtime');
  });

  it('gets an M2M OAuth2 token for agentcore-oauth:, with scopes', async () => {
    const { resolver } = resolverWith({ workloadAccessToken: () => 'wat-injected' });
    expect((await resolver.resolve('agentcore-oauth:linear-oauth#read,write')).reveal()).toBe('oauth-token-of-linear-oauth');
    expect(stub.requests.map((r) => r.path)).toEqual(['/identities/oauth2/token']);
    expect(stub.requests[0]!.json).toEqual({ workloadIdentityToken: 'wat-injected', resourceCredentialProviderName: 'linear-oauth', scopes: ['read', 'write'], oauth2Flow: 'M2M' });
  });

  it('reports a response with no API key, or an OAuth provider that wants a user, as persistent', async () => {
    reply = service({ '/identities/api-key': { status: 200, body: {} }, '/identities/oauth2/token': { status: 200, body: { authorizationUrl: 'https://example.invalid/authorize' } } });
    const { resolver, log } = resolverWith();
    await expect(resolver.resolve('agentcore:linear-api-key')).rejects.toMatchObject({ kind: 'persistent', code: 'EmptyApiKey' });
    await expect(resolver.resolve('agentcore-oauth:gh')).rejects.toMatchObject({ kind: 'persistent', code: 'NoAccessToken', message: expect.stringMatching(/asks for user authorization/) });
    expect(log.lines.filter((l) => l.level === LEVEL.error)).toHaveLength(2);
  });

  it.each([
    [403, 'AccessDeniedException', /^grant bedrock-agentcore:GetResourceApiKey to the IAM role/],
    [404, 'ResourceNotFoundException', /no API-key credential provider named "linear-api-key" in us-east-1: create it with `aws bedrock-agentcore-control create-api-key-credential-provider --name linear-api-key/],
    [400, 'ValidationException', /check the reference/],
    [401, 'UnauthorizedException', /workload access token was refused/],
  ])('GetResourceApiKey %s %s is persistent: ERROR once, no retry, with a remedy', async (status, type, remedy) => {
    reply = service({ '/identities/api-key': awsError(status, type) });
    const { resolver, log } = resolverWith();
    const err = await resolver.resolve('agentcore:linear-api-key').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CredentialError', kind: 'persistent', code: type });
    expect((err as Error).message).toMatch(new RegExp(`^agentcore:linear-api-key: bedrock-agentcore:GetResourceApiKey failed: ${type}`));
    expect((err as { remedy: string }).remedy).toMatch(remedy);
    await resolver.resolve('agentcore:linear-api-key').catch(() => undefined);
    expect(stub.requests.filter((r) => r.path === '/identities/api-key')).toHaveLength(2);
    const errors = log.lines.filter((l) => l.level === LEVEL.error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ ref: 'agentcore:linear-api-key', kind: 'persistent', code: type });
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(0);
  });

  it('names the missing IAM action for GetWorkloadAccessToken and GetResourceOauth2Token', async () => {
    reply = service({ '/identities/GetWorkloadAccessToken': awsError(403, 'AccessDeniedException') });
    const { resolver } = resolverWith();
    await expect(resolver.resolve('agentcore:linear-api-key')).rejects.toMatchObject({ remedy: expect.stringMatching(/^grant bedrock-agentcore:GetWorkloadAccessToken/) });
    reply = service({ '/identities/GetWorkloadAccessToken': awsError(404, 'ResourceNotFoundException') });
    await expect(resolver.resolve('agentcore:other')).rejects.toMatchObject({ remedy: expect.stringMatching(/create-workload-identity --name bgagent-workload/) });
    reply = service({ '/identities/oauth2/token': awsError(403, 'AccessDeniedException') });
    await expect(resolver.resolve('agentcore-oauth:gh')).rejects.toMatchObject({ remedy: expect.stringMatching(/^grant bedrock-agentcore:GetResourceOauth2Token/) });
  });

  it.each([
    [429, 'ThrottlingException'],
    [500, 'InternalServerException'],
    [502, ''],
  ])('%s %s is transient: WARN per attempt and retried', async (status, type) => {
    reply = service({ '/identities/api-key': type ? awsError(status, type) : { status, body: { message: 'bad gateway' } } });
    const { resolver, log } = resolverWith({ workloadAccessToken: () => 'wat' });
    await expect(resolver.resolve('agentcore:linear-api-key')).rejects.toMatchObject({ kind: 'transient' });
    expect(stub.requests).toHaveLength(3);
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(3);
    expect(log.lines.filter((l) => l.level === LEVEL.error)).toHaveLength(0);
  });

  it('treats a refused connection as transient', async () => {
    const { resolver } = resolverWith({ workloadAccessToken: () => 'wat', awsEndpoint: 'http://127.0.0.1:1' });
    await expect(resolver.resolve('agentcore:linear-api-key')).rejects.toMatchObject({ kind: 'transient' });
  });

  it('without a region: unavailable, WARN, and no request', async () => {
    const { resolver, log } = resolverWith({ awsRegion: undefined });
    await expect(resolver.resolve('agentcore:linear-api-key')).rejects.toMatchObject({ kind: 'unavailable', code: 'NoRegion' });
    expect(stub.requests).toHaveLength(0);
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(1);
    expect(log.lines.filter((l) => l.level === LEVEL.error)).toHaveLength(0);
  });

  it('without a workload token or workload name: unavailable, WARN once, and no request', async () => {
    const { resolver, log } = resolverWith({ agentcoreWorkloadName: undefined });
    await expect(resolver.resolve('agentcore:linear-api-key')).rejects.toMatchObject({ kind: 'unavailable', code: 'NoWorkloadToken', remedy: expect.stringMatching(/BGAGENT_AGENTCORE_WORKLOAD_NAME/) });
    await resolver.resolve('agentcore:linear-api-key').catch(() => undefined);
    expect(stub.requests).toHaveLength(0);
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(1);
    expect(await resolver.check('agentcore:linear-api-key')).toMatchObject({ status: 'unavailable' });
  });

  it('without the SDK package installed: unavailable with a WARN', async () => {
    const log = capturedLogger();
    const provider = new AgentCoreCredentialProvider({ region: 'us-east-1', workloadName: 'w', loadSdk: () => import('@aws-sdk/client-not-installed-' + 'abc') as never });
    const resolver = new CredentialResolver({ dataDir, logger: log.logger, providers: { agentcore: provider } });
    await expect(resolver.resolve('agentcore:linear-api-key')).rejects.toMatchObject({ kind: 'unavailable', remedy: 'npm install @aws-sdk/client-bedrock-agentcore' });
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(1);
  });

  it('never logs the API key or the workload token', async () => {
    const { resolver, log } = resolverWith();
    await resolver.resolve('agentcore:linear-api-key');
    reply = service({ '/identities/api-key': awsError(403, 'AccessDeniedException') });
    await resolver.resolve('agentcore:second').catch(() => undefined);
    expect(log.text()).not.toMatch(/api-key-of-|wat-for-/);
  });
});
