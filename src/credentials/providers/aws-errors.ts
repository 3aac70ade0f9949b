import { CredentialError } from '../errors.js';

const PERSISTENT = new Set([
  'AccessDeniedException',
  'ResourceNotFoundException',
  'ValidationException',
  'UnauthorizedException',
  'InvalidParameterException',
  'InvalidRequestException',
  'DecryptionFailure',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

const TRANSIENT = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalServerException',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

export interface AwsCallContext {
  /** The reference, as it may be shown. */
  ref: string;
  /** e.g. bedrock-agentcore:GetResourceApiKey */
  action: string;
  /** Remedy when the resource is not found. */
  notFoundRemedy: string;
}

/** Turns an AWS SDK error into a classified CredentialError. Messages come from AWS and carry no secret. */
export function classifyAwsError(err: unknown, ctx: AwsCallContext): CredentialError {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const detail = (e.message ?? '').slice(0, 300);
  const what = `${ctx.action} failed: ${name}${detail && detail !== name ? ` (${detail})` : ''}`;
  switch (name) {
    case 'AccessDeniedException':
      return new CredentialError('persistent', ctx.ref, what, `grant ${ctx.action} to the IAM role or user bgagent runs as`, name);
    case 'ResourceNotFoundException':
      return new CredentialError('persistent', ctx.ref, what, ctx.notFoundRemedy, name);
    case 'UnauthorizedException':
      return new CredentialError('persistent', ctx.ref, what, 'the workload access token was refused: check that the workload identity may use this credential provider', name);
    case 'CredentialsProviderError':
      return new CredentialError('persistent', ctx.ref, `no AWS credentials found for ${ctx.action}`, 'configure AWS credentials (instance role, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)', name);
  }
  if (PERSISTENT.has(name)) return new CredentialError('persistent', ctx.ref, what, 'check the reference and the AWS configuration', name);
  if (TRANSIENT.has(name) || (status !== undefined && status >= 500) || status === 429) {
    return new CredentialError('transient', ctx.ref, what, 'usually passes on its own; retried with backoff', name);
  }
  if (status === undefined || NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(name)) {
    return new CredentialError('transient', ctx.ref, `${ctx.action} failed: network error (${detail || name})`, 'check network access to the AWS endpoint', name);
  }
  return new CredentialError('persistent', ctx.ref, what, 'check the reference and the AWS configuration', name);
}

/** A missing optional package degrades to unavailable. */
export function sdkUnavailable(ref: string, pkg: string, err: unknown): CredentialError {
  const reason = (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `could not be loaded (${(err as Error).message})`;
  return new CredentialError('unavailable', ref, `the optional package ${pkg} ${reason}`, `npm install ${pkg}`, 'SdkUnavailable');
}

export function noRegion(ref: string): CredentialError {
  return new CredentialError('unavailable', ref, 'no AWS region configured', 'set AWS_REGION (or AWS_DEFAULT_REGION)', 'NoRegion');
}
