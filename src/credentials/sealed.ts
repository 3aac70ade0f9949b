import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import type { VaultKeyMaterial } from './vault.js';

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const VERSION = 'v1';

/** A sealed value could not be opened: another key wrote it, or it was changed (or moved to another row). */
export class SecretDecryptionError extends Error {
  override name = 'SecretDecryptionError';
  readonly remedy = 'every process sharing the database needs the same BGAGENT_VAULT_KEY (without it, each data dir uses its own vault.key)';
  constructor(context: string) {
    super(`${context} cannot be decrypted with this process's key: it was written with another BGAGENT_VAULT_KEY, or changed`);
  }
}

/**
 * AES-256-GCM for secrets kept in the database. Each value gets a random 12-byte IV; the associated data is the
 * value's context (e.g. its row's name), so a ciphertext copied to another row does not open there. A passphrase
 * key is stretched with scrypt and a random salt carried in the sealed text (one salt per process, its key
 * derived once). Sealed text: `v1.<salt, empty for a 32-byte key>.<iv>.<tag>.<ciphertext>` (base64url).
 */
export class SecretSealer {
  private salt: string | undefined;
  private readonly derived = new Map<string, Promise<Buffer>>();

  constructor(private readonly keyMaterial: () => Promise<VaultKeyMaterial>) {}

  async seal(plain: string, context: string): Promise<string> {
    const material = await this.keyMaterial();
    const salt = material.kind === 'passphrase' ? (this.salt ??= randomBytes(16).toString('base64url')) : '';
    const key = await this.keyFor(material, salt);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad(context));
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, salt, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /** Throws SecretDecryptionError when the key is not the one that sealed it or the text was changed. */
  async open(sealed: string, context: string): Promise<string> {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretDecryptionError(context);
    const [, salt, iv, tag, ciphertext] = parts as [string, string, string, string, string];
    const material = await this.keyMaterial();
    if ((material.kind === 'passphrase') !== (salt !== '')) throw new SecretDecryptionError(context);
    try {
      const decipher = createDecipheriv('aes-256-gcm', await this.keyFor(material, salt), Buffer.from(iv, 'base64url'));
      decipher.setAAD(aad(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretDecryptionError(context);
    }
  }

  private keyFor(material: VaultKeyMaterial, salt: string): Promise<Buffer> {
    if (material.kind === 'raw') return Promise.resolve(material.key);
    let key = this.derived.get(salt);
    if (!key) {
      key = new Promise<Buffer>((resolve, reject) =>
        scrypt(material.passphrase, Buffer.from(salt, 'base64url'), 32, SCRYPT, (err, k) => (err ? reject(err) : resolve(k))),
      );
      this.derived.set(salt, key);
    }
    return key;
  }
}

function aad(context: string): Buffer {
  return Buffer.from(`bgagent sealed secret ${VERSION}\0${context}`, 'utf8');
}
