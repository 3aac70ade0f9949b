import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmUser, LinearEmulatorState } from './state.js';

/**
 * Linear's OAuth endpoints for the emulator: `GET /oauth/authorize` (the signed-in admin approves at once,
 * or denies when told to) and `POST /oauth/token` (authorization code with PKCE, refresh with rotation).
 * Tokens it issues authenticate on the GraphQL endpoint as `Authorization: Bearer …` until they expire.
 * Test support only.
 */

export interface EmOAuthApp {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  name: string;
  /** The app's own user (the viewer of actor=app tokens), created at its first install. */
  appUser?: EmUser;
}

export interface EmulatedOAuthCall {
  endpoint: 'authorize' | 'token';
  /** The token grant (`authorization_code`, `refresh_token`), for token calls. */
  grantType?: string;
  clientId?: string;
  /** The HTTP status sent (302 for an authorize redirect). */
  status: number;
  /** The OAuth error answered, if any (`invalid_grant`, `access_denied`, …). */
  error?: string;
  at: number;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge?: string;
  challengeMethod?: string;
  actor: 'app' | 'user';
  scope: string;
  expiresAt: number;
}

interface RefreshGrant {
  clientId: string;
  userId: string;
  scope: string;
  spent: boolean;
}

export class EmulatedOAuth {
  readonly apps = new Map<string, EmOAuthApp>();
  readonly calls: EmulatedOAuthCall[] = [];
  /** Access token lifetime in seconds (Linear: 24 h). */
  accessTokenTtlSeconds = 24 * 60 * 60;
  /** What the admin does on the authorize page. */
  decision: 'approve' | 'deny' = 'approve';
  readonly accessTokenExpiry = new Map<string, number>();
  private readonly codes = new Map<string, PendingCode>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  private failures: { status: number; remaining: number }[] = [];

  constructor(private readonly state: LinearEmulatorState) {}

  registerApp(a: { clientId?: string; clientSecret?: string; redirectUris: string[]; name?: string }): EmOAuthApp {
    const app: EmOAuthApp = {
      clientId: a.clientId ?? randomBytes(16).toString('hex'),
      clientSecret: a.clientSecret ?? randomBytes(16).toString('hex'),
      redirectUris: a.redirectUris,
      name: a.name ?? 'bgagent',
    };
    this.apps.set(app.clientId, app);
    return app;
  }

  /** The token endpoint answers the next `times` requests with this HTTP status (a 5xx outage). */
  failNextToken(status = 503, times = 1): void {
    this.failures.push({ status, remaining: times });
  }

  /** Every access token stops working now (as if it expired), refresh tokens stay valid. */
  expireAccessTokens(): void {
    for (const token of this.accessTokenExpiry.keys()) this.state.accessTokens.delete(token);
    this.accessTokenExpiry.clear();
  }

  /** Uninstall: every token of the app stops working. */
  revokeApp(clientId: string): void {
    for (const [token, grant] of this.refreshTokens) if (grant.clientId === clientId) this.refreshTokens.delete(token);
    const app = this.apps.get(clientId);
    for (const [token, userId] of this.state.accessTokens) {
      if (app?.appUser && userId === app.appUser.id) {
        this.state.accessTokens.delete(token);
        this.accessTokenExpiry.delete(token);
      }
    }
  }

  /** Valid (unspent) refresh tokens: what a client may still use. */
  liveRefreshTokens(): string[] {
    return [...this.refreshTokens].filter(([, g]) => !g.spent).map(([t]) => t);
  }

  /** Removes expired access tokens from the state, so GraphQL refuses them. */
  dropExpired(now = Date.now()): void {
    for (const [token, expiresAt] of this.accessTokenExpiry) {
      if (expiresAt <= now) {
        this.state.accessTokens.delete(token);
        this.accessTokenExpiry.delete(token);
      }
    }
  }

  /** Handles /oauth/*; false when the path is not an OAuth endpoint. */
  async handle(req: IncomingMessage, res: ServerResponse, rawBody: string): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    if (url.pathname === '/oauth/authorize' && req.method === 'GET') {
      this.authorize(url.searchParams, res);
      return true;
    }
    if (url.pathname === '/oauth/token' && req.method === 'POST') {
      this.token(new URLSearchParams(rawBody), res);
      return true;
    }
    return false;
  }

  private authorize(q: URLSearchParams, res: ServerResponse): void {
    const call: EmulatedOAuthCall = { endpoint: 'authorize', clientId: q.get('client_id') ?? undefined, status: 0, at: Date.now() };
    this.calls.push(call);
    const page = (status: number, error: string) => {
      call.status = status;
      call.error = error;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`Linear OAuth: ${error}`);
    };
    const app = this.apps.get(q.get('client_id') ?? '');
    if (!app) return page(400, 'invalid_client');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!app.redirectUris.includes(redirectUri)) return page(400, 'invalid redirect_uri');
    if (q.get('response_type') !== 'code') return page(400, 'unsupported_response_type');
    const scope = q.get('scope') ?? '';
    if (!scope.split(',').includes('read')) return page(400, 'invalid_scope');
    const actor = q.get('actor') === 'app' ? 'app' : 'user';
    if (actor !== 'app' && /app:(assignable|mentionable)/.test(scope)) return page(400, 'invalid_scope: app:assignable and app:mentionable need actor=app');
    const challenge = q.get('code_challenge') ?? undefined;
    const challengeMethod = q.get('code_challenge_method') ?? undefined;
    if (challenge && challengeMethod !== 'S256' && challengeMethod !== 'plain') return page(400, 'invalid code_challenge_method');
    const target = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    if (this.decision === 'deny') {
      target.searchParams.set('error', 'access_denied');
      call.error = 'access_denied';
    } else {
      const code = randomBytes(16).toString('hex');
      this.codes.set(code, { clientId: app.clientId, redirectUri, challenge, challengeMethod, actor, scope, expiresAt: Date.now() + 10 * 60 * 1000 });
      target.searchParams.set('code', code);
    }
    call.status = 302;
    res.writeHead(302, { location: target.toString() }).end();
  }

  private token(form: URLSearchParams, res: ServerResponse): void {
    const grantType = form.get('grant_type') ?? '';
    const call: EmulatedOAuthCall = { endpoint: 'token', grantType, clientId: form.get('client_id') ?? undefined, status: 0, at: Date.now() };
    this.calls.push(call);
    const send = (status: number, body: Record<string, unknown>) => {
      call.status = status;
      if (typeof body.error === 'string') call.error = body.error;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const failure = this.failures[0];
    if (failure) {
      if (--failure.remaining <= 0) this.failures.shift();
      call.status = failure.status;
      res.writeHead(failure.status, { 'content-type': 'text/plain' }).end('Service Unavailable');
      return;
    }
    const app = this.apps.get(form.get('client_id') ?? '');
    if (!app || form.get('client_secret') !== app.clientSecret) return send(401, { error: 'invalid_client', error_description: 'unknown client or wrong secret' });

    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      const pending = this.codes.get(code);
      this.codes.delete(code); // one use, whatever the outcome
      if (!pending || pending.clientId !== app.clientId || pending.expiresAt <= Date.now()) return send(400, { error: 'invalid_grant', error_description: 'unknown, used or expired code' });
      if (form.get('redirect_uri') !== pending.redirectUri) return send(400, { error: 'invalid_grant', error_description: 'redirect_uri does not match' });
      if (pending.challenge) {
        const verifier = form.get('code_verifier') ?? '';
        const computed = pending.challengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
        if (!verifier || computed !== pending.challenge) return send(400, { error: 'invalid_grant', error_description: 'code_verifier does not match the code_challenge' });
      }
      const user = pending.actor === 'app' ? this.appUserOf(app) : this.state.defaults.human;
      return send(200, this.issue(app.clientId, user.id, pending.scope));
    }
    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      const grant = this.refreshTokens.get(token);
      if (!grant || grant.spent || grant.clientId !== app.clientId) return send(400, { error: 'invalid_grant', error_description: 'invalid, revoked or already used refresh token' });
      grant.spent = true; // rotation: a refresh token is good for one refresh
      return send(200, this.issue(app.clientId, grant.userId, grant.scope));
    }
    return send(400, { error: 'unsupported_grant_type' });
  }

  private appUserOf(app: EmOAuthApp): EmUser {
    app.appUser ??= this.state.addUser({ name: app.name, displayName: app.name, email: `${app.clientId.slice(0, 8)}@oauthapp.linear.app`, app: true });
    return app.appUser;
  }

  private issue(clientId: string, userId: string, scope: string): Record<string, unknown> {
    const accessToken = `lin_oauth_${randomBytes(20).toString('hex')}`;
    const refreshToken = `lin_refresh_${randomBytes(20).toString('hex')}`;
    this.state.addAccessToken(accessToken, userId);
    this.accessTokenExpiry.set(accessToken, Date.now() + this.accessTokenTtlSeconds * 1000);
    this.refreshTokens.set(refreshToken, { clientId, userId, scope, spent: false });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.accessTokenTtlSeconds, scope: scope.split(',').join(' '), refresh_token: refreshToken };
  }
}
