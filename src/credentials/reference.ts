import { CredentialError } from './errors.js';

export type CredentialReference =
  | { kind: 'env'; name: string; display: string }
  | { kind: 'vault'; name: string; display: string }
  /** A secret bgagent keeps encrypted in its database (shared by every process on it). */
  | { kind: 'db'; name: string; display: string }
  | { kind: 'aws-secrets-manager'; secretId: string; jsonKey: string | undefined; display: string }
  | { kind: 'agentcore'; provider: string; display: string }
  | { kind: 'agentcore-oauth'; provider: string; scopes: string[]; display: string }
  /** A bare secret value in a configuration variable. `display` never contains it. */
  | { kind: 'literal'; value: string; display: string };

export type ReferenceKind = CredentialReference['kind'];

export const LITERAL_DISPLAY = '(literal value)';

const PREFIXES = ['env', 'vault', 'db', 'aws-secrets-manager', 'agentcore', 'agentcore-oauth'] as const;
type Prefix = (typeof PREFIXES)[number];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const VAULT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PROVIDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SECRET_ID = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;

function invalid(raw: string, message: string, remedy: string): CredentialError {
  return new CredentialError('persistent', raw, message, remedy);
}

/**
 * Parses `env:NAME`, `vault:NAME`, `db:NAME`, `aws-secrets-manager:NAME_OR_ARN[#jsonKey]`, `agentcore:PROVIDER`,
 * `agentcore-oauth:PROVIDER[#scope,scope]`. Anything without one of those prefixes is a literal value.
 * Only the first colon separates the prefix: ARNs keep theirs.
 */
export function parseCredentialReference(raw: string): CredentialReference {
  const colon = raw.indexOf(':');
  const prefix = colon > 0 ? raw.slice(0, colon) : '';
  if (!(PREFIXES as readonly string[]).includes(prefix)) {
    return { kind: 'literal', value: raw, display: LITERAL_DISPLAY };
  }
  const rest = raw.slice(colon + 1).trim();
  const display = raw.trim();
  switch (prefix as Prefix) {
    case 'env':
      if (!ENV_NAME.test(rest)) throw invalid(display, 'not a valid environment variable name', 'use env:NAME with letters, digits and _');
      return { kind: 'env', name: rest, display };
    case 'vault':
      if (!VAULT_NAME.test(rest)) throw invalid(display, 'not a valid vault entry name', 'use vault:NAME with letters, digits, ".", "_" and "-"');
      return { kind: 'vault', name: rest, display };
    case 'db':
      if (!VAULT_NAME.test(rest)) throw invalid(display, 'not a valid database secret name', 'use db:NAME with letters, digits, ".", "_" and "-"');
      return { kind: 'db', name: rest, display };
    case 'aws-secrets-manager': {
      // Secret names and ARNs cannot contain '#', so the last one starts the JSON key.
      const hash = rest.lastIndexOf('#');
      const secretId = hash >= 0 ? rest.slice(0, hash) : rest;
      const jsonKey = hash >= 0 ? rest.slice(hash + 1) : undefined;
      if (!SECRET_ID.test(secretId)) throw invalid(display, 'not a valid secret name or ARN', 'use aws-secrets-manager:NAME_OR_ARN[#json-key]');
      if (jsonKey === '') throw invalid(display, 'empty JSON key after #', 'name the key, e.g. aws-secrets-manager:my-secret#apiKey, or drop the #');
      return { kind: 'aws-secrets-manager', secretId, jsonKey, display };
    }
    case 'agentcore':
      if (!PROVIDER_NAME.test(rest)) throw invalid(display, 'not a valid credential provider name', 'use agentcore:PROVIDER_NAME');
      return { kind: 'agentcore', provider: rest, display };
    case 'agentcore-oauth': {
      const hash = rest.indexOf('#');
      const provider = hash >= 0 ? rest.slice(0, hash) : rest;
      const scopes = hash >= 0 ? rest.slice(hash + 1).split(',').map((s) => s.trim()).filter(Boolean) : [];
      if (!PROVIDER_NAME.test(provider)) throw invalid(display, 'not a valid credential provider name', 'use agentcore-oauth:PROVIDER_NAME[#scope,scope]');
      return { kind: 'agentcore-oauth', provider, scopes, display };
    }
  }
}

/** The reference as it may appear in logs, errors and doctor output. */
export function displayReference(raw: string): string {
  try {
    return parseCredentialReference(raw).display;
  } catch (err) {
    return err instanceof CredentialError ? err.ref : LITERAL_DISPLAY;
  }
}
