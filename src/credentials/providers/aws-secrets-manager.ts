import { CredentialError } from '../errors.js';
import type { CredentialReference } from '../reference.js';
import { classifyAwsError, noRegion, sdkUnavailable } from './aws-errors.js';
import type { AwsProviderOptions, CredentialProvider } from './provider.js';

type SecretsManagerSdk = typeof import('@aws-sdk/client-secrets-manager');
const PKG = '@aws-sdk/client-secrets-manager';

export interface SecretsManagerProviderOptions extends AwsProviderOptions {
  /** Loads the SDK; injectable so a test can simulate a missing package. */
  loadSdk?: () => Promise<SecretsManagerSdk>;
}

/** `aws-secrets-manager:NAME_OR_ARN[#json-key]` through GetSecretValue. */
export class SecretsManagerCredentialProvider implements CredentialProvider {
  private client: Promise<{ sdk: SecretsManagerSdk; client: InstanceType<SecretsManagerSdk['SecretsManagerClient']> }> | undefined;

  constructor(private readonly opts: SecretsManagerProviderOptions) {}

  async fetch(ref: CredentialReference): Promise<string> {
    if (ref.kind !== 'aws-secrets-manager') throw new Error(`secrets manager provider cannot fetch ${ref.kind}`);
    if (!this.opts.region) throw noRegion(ref.display);
    const { sdk, client } = await this.getClient(ref.display);
    let out;
    try {
      out = await client.send(new sdk.GetSecretValueCommand({ SecretId: ref.secretId }));
    } catch (err) {
      throw classifyAwsError(err, {
        ref: ref.display,
        action: 'secretsmanager:GetSecretValue',
        notFoundRemedy: `no secret "${ref.secretId}" in ${this.opts.region}: create it with \`aws secretsmanager create-secret --name ${ref.secretId} --secret-string ...\` or fix the name/region`,
      });
    }
    const text = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    if (text === undefined || text === '') {
      throw new CredentialError('persistent', ref.display, 'the secret has no value', 'put a value in the secret (aws secretsmanager put-secret-value)', 'EmptySecret');
    }
    return ref.jsonKey === undefined ? text : pickJsonKey(ref.display, text, ref.jsonKey);
  }

  private getClient(display: string) {
    this.client ??= (this.opts.loadSdk ?? (() => import(PKG) as Promise<SecretsManagerSdk>))().then(
      (sdk) => ({
        sdk,
        client: new sdk.SecretsManagerClient({
          region: this.opts.region,
          // The resolver retries with its own backoff and logging.
          maxAttempts: 1,
          ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
          ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
        }),
      }),
      (err: unknown) => {
        this.client = undefined;
        throw sdkUnavailable(display, PKG, err);
      },
    );
    return this.client;
  }
}

function pickJsonKey(display: string, text: string, key: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CredentialError('persistent', display, `the secret is not JSON, so key "${key}" cannot be selected`, 'drop the #key suffix, or store the secret as a JSON object', 'NotJson');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CredentialError('persistent', display, `the secret is not a JSON object, so key "${key}" cannot be selected`, 'drop the #key suffix, or store the secret as a JSON object', 'NotJson');
  }
  const obj = parsed as Record<string, unknown>;
  const value = obj[key];
  if (value === undefined || value === null || value === '') {
    const keys = Object.keys(obj);
    throw new CredentialError(
      'persistent',
      display,
      `the secret has no key "${key}"`,
      keys.length ? `use one of its keys: ${keys.join(', ')}` : 'the secret is an empty JSON object: add the key',
      'MissingJsonKey',
    );
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new CredentialError('persistent', display, `key "${key}" holds a JSON ${Array.isArray(value) ? 'array' : 'object'}, not a string`, 'point the reference at a string value', 'NotString');
}
