import { describe, expect, it } from 'vitest';
import { VAULT_NAME } from '../../src/credentials/reference.js';
import { repoGitSecretName } from '../../src/orchestrator/repo-git-credential.js';
import { cloneUrlHasPassword, cloneUrlUsername, splitClonePassword } from '../../src/workspace/clone-url.js';

describe('a password in a clone URL', () => {
  it('is split out of an http(s) URL, which keeps its user name', () => {
    expect(splitClonePassword('https://bot:s3cret@git.example.com/acme/site.git')).toEqual({ url: 'https://bot@git.example.com/acme/site.git', password: 's3cret' });
    // Percent-decoded as git sends it; an "@" in the password belongs to it (the last "@" ends the userinfo).
    expect(splitClonePassword('http://bot:a%2Fb@c@127.0.0.1:8080/x.git')).toEqual({ url: 'http://bot@127.0.0.1:8080/x.git', password: 'a/b@c' });
    expect(splitClonePassword('https://:tok@host/x.git')).toEqual({ url: 'https://host/x.git', password: 'tok' });
    for (const url of ['https://host/x.git', 'https://bot@host/x.git', 'https://bot:@host/x.git', 'https://host:8443/x.git', 'https://host/a:b@c', 'ssh://git:pw@host/x.git', 'git@host:x.git']) {
      expect(splitClonePassword(url), url).toBeUndefined();
    }
  });

  it('is recognised in any scheme, and the user name is read from http(s) URLs', () => {
    expect(cloneUrlHasPassword('ssh://git:pw@host/x.git')).toBe(true);
    expect(cloneUrlHasPassword('https://bot:pw@host/x.git')).toBe(true);
    for (const url of ['https://bot@host/x.git', 'https://host:8443/x.git', 'ssh://git@host:22/x.git', 'https://host/a:b@c']) expect(cloneUrlHasPassword(url), url).toBe(false);
    expect(cloneUrlUsername('https://b%40t:pw@host/x.git')).toBe('b@t');
    expect(cloneUrlUsername('https://host/x.git')).toBeUndefined();
  });
});

describe("a repository's secret name", () => {
  it('is repo-<name>-<hash>-git-token, a valid name unique to each repository', () => {
    expect(repoGitSecretName('demo')).toMatch(/^repo-demo-[0-9a-f]{24}-git-token$/);
    expect(repoGitSecretName('demo', 'moved-git-token')).toMatch(/^repo-demo-[0-9a-f]{24}-moved-git-token$/);
    const names = ['acme/site', 'acme.site', 'acme-site', `${'a'.repeat(100)}/${'b'.repeat(100)}`, `${'a'.repeat(100)}/${'b'.repeat(99)}c`].map((n) => repoGitSecretName(n));
    for (const name of names) expect(name).toMatch(VAULT_NAME);
    expect(new Set(names).size).toBe(names.length);
  });

  it("is never another repository's: a crafted name cannot make one repository's secret another's (adding or deleting it would overwrite or delete that one)", () => {
    const hashed = /-([0-9a-f]+)-git-token$/.exec(repoGitSecretName('acme/site'))?.[1] ?? '';
    const repos = ['demo', 'demo-moved', 'acme/site', `acme.site-${hashed}`, 'a-git-token', 'a', 'a.b', 'a/b', 'a-b', 'a_b'];
    const names = repos.flatMap((r) => [repoGitSecretName(r), repoGitSecretName(r, 'moved-git-token')]);
    for (const name of names) expect(name).toMatch(VAULT_NAME);
    expect(new Set(names).size).toBe(names.length);
  });
});
