import { fileURLToPath } from 'node:url';
import { isInside } from './paths.js';

/**
 * Why a clone URL is refused, or undefined when git may be given it. Accepted: `https://`, `http://`,
 * `ssh://`, scp-style `user@host:path`, and `file://` outside the data dir. A URL reaches git as data
 * (after `--`), but one that starts with `-` or holds a control character is refused all the same.
 */
export function cloneUrlProblem(url: string, opts: { dataDir?: string } = {}): string | undefined {
  if (!url) return 'clone_url is empty';
  if (url.startsWith('-')) return 'clone_url must not start with "-"';
  if (/[\u0000-\u001f\u007f\s\\]/.test(url)) return 'clone_url must not contain whitespace, control characters or backslashes';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // scp-style: user@host:path, the host a plain name (no option, no `::` transport of git's own).
    return /^[A-Za-z0-9._~][A-Za-z0-9._~-]*@[A-Za-z0-9][A-Za-z0-9.-]*:[^:]/.test(url)
      ? undefined
      : 'clone_url must be an https://, ssh://, file:// or scp-style (user@host:path) git URL';
  }
  if (!['https', 'http', 'ssh', 'file'].includes(scheme)) return `clone_url scheme "${scheme}" is not accepted (https, http, ssh, file)`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'clone_url is not a valid URL';
  }
  if (scheme !== 'file') return parsed.hostname && !parsed.hostname.startsWith('-') ? undefined : 'clone_url has no valid host';
  if (opts.dataDir && isInside(opts.dataDir, fileURLToPath(parsed))) return "clone_url must not point inside bgagent's data dir";
  return undefined;
}
