import { CredentialError } from '../errors.js';
import type { CredentialReference } from '../reference.js';
import type { CredentialProvider } from './provider.js';

export class EnvCredentialProvider implements CredentialProvider {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async fetch(ref: CredentialReference): Promise<string> {
    if (ref.kind !== 'env') throw new Error(`env provider cannot fetch ${ref.kind}`);
    const value = this.env[ref.name];
    if (value === undefined || value === '') {
      throw new CredentialError('persistent', ref.display, `environment variable ${ref.name} is not set`, `export ${ref.name}=... in the environment bgagent runs in`);
    }
    return value;
  }
}
