import { execFile } from 'node:child_process';

/** Credentials for git over http(s). The token reaches only the one git command that needs it. */
export interface GitAuth {
  token: string;
  /** Default `x-access-token` (what GitHub expects for app and personal tokens). */
  username?: string;
}

export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

export interface RunGitOptions {
  cwd?: string;
  auth?: GitAuth;
  /** Extra environment for this command (e.g. author identity). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Variables that would point git at another repository, inject configuration or prompt for a password.
 * The platform's git commands never inherit them from the process environment.
 */
const INHERITED_GIT_VARIABLES = /^(GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|COMMON_DIR|NAMESPACE|PREFIX|CONFIG_(COUNT|KEY_\d+|VALUE_\d+|PARAMETERS)|ASKPASS|CEILING_DIRECTORIES)|SSH_ASKPASS)$/;

/**
 * The credential helper git runs for this command only: it answers `get` from variables of the git
 * process itself, so the token is never on a command line (visible in `ps`) or in a config file.
 */
const CREDENTIAL_HELPER =
  '!f() { test "$1" = get || exit 0; printf "username=%s\\npassword=%s\\n" "$BGAGENT_GIT_USERNAME" "$BGAGENT_GIT_TOKEN"; }; f';

/**
 * Configuration every platform git command runs with (it comes after the repository's own config, so it
 * wins): the workspace's `.git/config` and hooks are written by the agent and are not trusted.
 */
const HARDENING: Array<[string, string]> = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  // An empty value clears every helper configured before this one (e.g. by the repository).
  ['credential.helper', ''],
  // Only the transports a clone URL may name (see clone-url.ts); never `ext::`, which runs a command.
  ['protocol.allow', 'never'],
  ['protocol.https.allow', 'always'],
  ['protocol.http.allow', 'always'],
  ['protocol.ssh.allow', 'always'],
  ['protocol.file.allow', 'always'],
  ['protocol.ext.allow', 'never'],
];

export function gitEnvironment(opts: RunGitOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!INHERITED_GIT_VARIABLES.test(k)) env[k] = v;
  }
  const config = [...HARDENING];
  if (opts.auth) {
    config.push(['credential.helper', CREDENTIAL_HELPER]);
    env.BGAGENT_GIT_USERNAME = opts.auth.username ?? 'x-access-token';
    env.BGAGENT_GIT_TOKEN = opts.auth.token;
  }
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  env.GIT_TERMINAL_PROMPT = '0';
  return { ...env, ...opts.env };
}

/** Runs git and returns its trimmed stdout; a failure is a GitError whose message holds no secret. */
export function runGit(args: string[], opts: RunGitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd: opts.cwd, env: gitEnvironment(opts), maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 10 * 60_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout.trimEnd());
        const code = typeof err.code === 'number' ? err.code : null;
        const why = err.killed ? `was stopped (${err.signal ?? 'timeout'})` : `failed (exit ${code ?? err.code})`;
        const detail = (stderr || err.message).trim().split('\n').slice(-8).join('\n');
        const message = `git ${args.join(' ')} ${why}: ${detail}`;
        reject(new GitError(scrubSecrets(message, opts.auth), code));
      },
    );
  });
}

/** Removes the token (plain, URL-encoded, inside Basic auth) and URL userinfo from a text. */
export function scrubSecrets(text: string, auth?: GitAuth): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
  if (auth?.token) {
    const forms = new Set([
      auth.token,
      encodeURIComponent(auth.token),
      Buffer.from(`${auth.username ?? 'x-access-token'}:${auth.token}`).toString('base64'),
    ]);
    for (const form of forms) out = out.split(form).join('***');
  }
  return out;
}
