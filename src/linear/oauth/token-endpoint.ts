import { z } from 'zod';

/** Linear's OAuth token endpoint: the authorization-code exchange and refresh-token grants. */

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms. */
  expiresAt: number;
  scope: string;
}

export interface OAuthClientCredentials {
  clientId: string;
  clientSecret: () => Promise<string>;
}

/**
 * Why the token endpoint did not give tokens. `code` is the OAuth error (`invalid_grant`, `invalid_client`, …)
 * or the transport's (`http_error`, `network_error`, `timeout`, `bad_response`). Never carries a token.
 */
export class OAuthTokenError extends Error {
  override name = 'OAuthTokenError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  /** The grant (code or refresh token) is no longer valid: only a new authorization helps. */
  get invalidGrant(): boolean {
    return this.code === 'invalid_grant';
  }

  /** Worth trying again later (the endpoint was unreachable or failing). */
  get transient(): boolean {
    return ['http_error', 'network_error', 'timeout'].includes(this.code) || (this.status !== undefined && this.status >= 500);
  }
}

const tokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive(),
  refresh_token: z.string().min(1).optional(),
  scope: z.union([z.string(), z.array(z.string())]).optional(),
});

const errorResponse = z.looseObject({ error: z.string().min(1), error_description: z.string().optional() });

export class OAuthTokenEndpoint {
  constructor(
    private readonly opts: {
      tokenUrl: string;
      client: OAuthClientCredentials;
      timeoutMs?: number;
      now?: () => number;
      fetchImpl?: typeof fetch;
    },
  ) {}

  exchangeCode(code: string, redirectUri: string, codeVerifier: string): Promise<OAuthTokens> {
    return this.request({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier });
  }

  /** Linear rotates refresh tokens: the answer carries a new one, and the one sent is spent. */
  refresh(refreshToken: string): Promise<OAuthTokens> {
    return this.request({ grant_type: 'refresh_token', refresh_token: refreshToken }, refreshToken);
  }

  private async request(grant: Record<string, string>, previousRefreshToken?: string): Promise<OAuthTokens> {
    const { client } = this.opts;
    const body = new URLSearchParams({ ...grant, client_id: client.clientId, client_secret: await client.clientSecret() });
    const now = (this.opts.now ?? Date.now)();
    let res: Response;
    let text: string;
    try {
      res = await (this.opts.fetchImpl ?? fetch)(this.opts.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'bgagent' },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      text = await res.text();
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new OAuthTokenError('timeout', 'the Linear token endpoint did not answer in time');
      const cause = (err as { cause?: { code?: string } })?.cause?.code;
      throw new OAuthTokenError('network_error', `the Linear token endpoint could not be reached (${cause ?? (err as Error)?.message ?? 'network error'})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = errorResponse.safeParse(json);
      if (e.success) throw new OAuthTokenError(e.data.error, `Linear refused the ${grant.grant_type} grant: ${e.data.error}${e.data.error_description ? ` (${e.data.error_description})` : ''}`, res.status);
      throw new OAuthTokenError('http_error', `the Linear token endpoint answered HTTP ${res.status}`, res.status);
    }
    const ok = tokenResponse.safeParse(json);
    if (!ok.success) throw new OAuthTokenError('bad_response', 'the Linear token endpoint answered without an access token', res.status);
    const refreshToken = ok.data.refresh_token ?? previousRefreshToken;
    if (!refreshToken) throw new OAuthTokenError('bad_response', 'the Linear token endpoint answered without a refresh token', res.status);
    const scope = Array.isArray(ok.data.scope) ? ok.data.scope.join(',') : (ok.data.scope ?? '').replace(/\s+/g, ',');
    return { accessToken: ok.data.access_token, refreshToken, expiresAt: now + ok.data.expires_in * 1000, scope };
  }
}
