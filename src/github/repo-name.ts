export interface GitHubRepoName {
  owner: string;
  repo: string;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * `owner/name`, `https://host/owner/name(.git)` (GitHub or GitHub Enterprise) or `git@host:owner/name(.git)`
 * → `{ owner, repo }`. Throws on anything else.
 */
export function parseGitHubRepo(cloneUrlOrName: string): GitHubRepoName {
  const input = cloneUrlOrName.trim();
  let path: string;
  const scp = /^[\w.-]+@[\w.-]+:(.+)$/.exec(input);
  if (scp) {
    path = scp[1]!;
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    try {
      path = new URL(input).pathname;
    } catch {
      throw new Error(`not a GitHub repository: ${JSON.stringify(redactUserInfo(input))}`);
    }
  } else {
    path = input;
  }
  const parts = path.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '').split('/');
  const [owner, repo] = parts;
  if (parts.length !== 2 || !owner || !repo || !NAME.test(owner) || !NAME.test(repo) || repo === '.' || repo === '..') {
    throw new Error(`not a GitHub repository (expected owner/name or a clone URL): ${JSON.stringify(redactUserInfo(input))}`);
  }
  return { owner, repo };
}

/** A URL may carry credentials (`https://user:token@host/…`); never echo them. */
function redactUserInfo(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/, '//***@');
}
