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

const HTTP_USERINFO = /^(https?:\/\/)([^/?#]*)@/i;

/**
 * An http(s) clone URL's password taken out: the URL keeps its user name (`https://user@host/…`), and the
 * password (percent-decoded, as git would send it) is returned to be kept as a secret. Undefined when the
 * URL has no password.
 */
export function splitClonePassword(url: string): { url: string; password: string } | undefined {
  const m = HTTP_USERINFO.exec(url);
  if (!m) return undefined;
  const userinfo = m[2]!;
  const colon = userinfo.indexOf(':');
  if (colon < 0 || colon === userinfo.length - 1) return undefined;
  const user = userinfo.slice(0, colon);
  const rest = url.slice(m[0].length);
  return { url: `${m[1]}${user ? `${user}@` : ''}${rest}`, password: percentDecoded(userinfo.slice(colon + 1)) };
}

/** Whether a clone URL of any scheme carries a password (`scheme://user:password@…`). */
export function cloneUrlHasPassword(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]*:[^/?#]+@/i.test(url);
}

/** The user name an http(s) clone URL names, percent-decoded; undefined when it names none. */
export function cloneUrlUsername(url: string): string | undefined {
  const userinfo = HTTP_USERINFO.exec(url)?.[2];
  const user = userinfo?.split(':')[0];
  return user ? percentDecoded(user) : undefined;
}

function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const HIDDEN = '<clone URL>';

/**
 * A git message for a task's owner, who may be no admin: a clone URL is an admin's setting, so every URL, and the
 * clone URL's host and path as git also prints them, become `<clone URL>`.
 */
export function withoutCloneUrl(message: string, cloneUrl: string): string {
  const parts = [cloneUrl];
  try {
    const url = new URL(cloneUrl);
    if (url.protocol === 'file:') parts.push(fileURLToPath(url));
    else parts.push(url.host, url.hostname, url.pathname.length > 1 ? url.pathname : '');
  } catch {
    // scp-style user@host:path
    const scp = /^[^@]*@([^:]+):(.+)$/.exec(cloneUrl);
    if (scp) parts.push(scp[1]!, scp[2]!);
  }
  let out = message.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"]*/gi, HIDDEN);
  for (const part of parts.filter((p) => p.length > 1).sort((a, b) => b.length - a.length)) out = out.split(part).join(HIDDEN);
  return out;
}
