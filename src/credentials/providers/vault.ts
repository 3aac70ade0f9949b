import { CredentialError } from '../errors.js';
import type { CredentialReference } from '../reference.js';
import { LocalVault, VaultError } from '../vault.js';
import type { CredentialProvider } from './provider.js';

export class VaultCredentialProvider implements CredentialProvider {
  constructor(private readonly vault: LocalVault) {}

  async fetch(ref: CredentialReference): Promise<string> {
    if (ref.kind !== 'vault') throw new Error(`vault provider cannot fetch ${ref.kind}`);
    let secret;
    try {
      secret = await this.vault.get(ref.name);
    } catch (err) {
      if (err instanceof VaultError) throw new CredentialError('persistent', ref.display, err.message, err.remedy, 'VaultError');
      // BGAGENT_VAULT_KEY is a reference that did not resolve.
      if (err instanceof CredentialError) throw new CredentialError(err.kind, ref.display, `the vault key (BGAGENT_VAULT_KEY) cannot be resolved: ${err.message}`, err.remedy, err.code);
      throw new CredentialError('transient', ref.display, `the vault could not be read (${(err as Error).message})`);
    }
    if (!secret) {
      throw new CredentialError('persistent', ref.display, `no entry "${ref.name}" in the local vault`, `add it with: bgagent credentials add ${ref.name} --type api-key`);
    }
    return secret.reveal();
  }
}
