import type { CredentialReference } from '../reference.js';

/** Fetches one kind of reference. Throws CredentialError; returns the plain value only to the resolver. */
export interface CredentialProvider {
  fetch(ref: CredentialReference): Promise<string>;
}

/** Static credentials, endpoint and region for the AWS providers (tests point `endpoint` at a local stub). */
export interface AwsProviderOptions {
  region: string | undefined;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}
