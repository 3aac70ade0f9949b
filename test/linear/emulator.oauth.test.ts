import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLinearEmulator, type EmOAuthApp, type LinearEmulator } from '../support/linear/emulator.js';

const REDIRECT = 'http://127.0.0.1:9/callback';
const VERIFIER = 'a-verifier-that-is-long-enough-for-pkce-0123456789';
const challenge = (v: string) => createHash('sha256').update(v).digest('base64url');

describe('the Linear emulator as an OAuth provider', () => {
  let emu: LinearEmulator;
  let app: EmOAuthApp;
  beforeAll(async () => {
    emu = await startLinearEmulator();
    app = emu.oauth.registerApp({ redirectUris: [REDIRECT] });
  });
  afterAll(async () => emu?.close());

  async function authorize(params: Record<string, string>): Promise<Response> {
    const url = new URL(emu.authorizeUrl);
    url.search = new URLSearchParams({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'read,write,app:assignable,app:mentionable', actor: 'app', state: 's1', code_challenge: challenge(VERIFIER), code_challenge_method: 'S256', ...params }).toString();
    return fetch(url, { redirect: 'manual' });
  }
  async function code(params: Record<string, string> = {}): Promise<string> {
    const res = await authorize(params);
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe('s1');
    return back.searchParams.get('code')!;
  }
  async function token(form: Record<string, string>): Promise<{ status: number; body: any }> {
    const res = await fetch(emu.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret, ...form }) });
    return { status: res.status, body: await res.json() };
  }
  const exchange = async (c: string, verifier = VERIFIER) => token({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, code_verifier: verifier });
  const viewer = async (accessToken: string) => {
    const res = await fetch(emu.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ query: 'query Viewer { viewer { id } }' }) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('verifies PKCE, uses each code once, and with actor=app issues tokens for the app user', async () => {
    expect((await exchange(await code(), 'the-wrong-verifier')).body.error).toBe('invalid_grant');
    const c = await code();
    const ok = await exchange(c);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', expires_in: 86400, access_token: expect.any(String), refresh_token: expect.any(String) });
    expect((await viewer(ok.body.access_token)).body.data.viewer.id).toBe(app.appUser!.id);
    expect(app.appUser!.app).toBe(true);
    expect((await exchange(c)).body.error).toBe('invalid_grant');
    expect(emu.oauth.calls.filter((x) => x.endpoint === 'token').map((x) => x.error ?? x.status)).toEqual(['invalid_grant', 200, 'invalid_grant']);
  });

  it('checks the client, the redirect URI and the app-only scopes, and redirects a denial with access_denied', async () => {
    expect((await authorize({ redirect_uri: 'http://evil.test/cb' })).status).toBe(400);
    expect((await authorize({ actor: 'user' })).status).toBe(400);
    expect((await token({ grant_type: 'refresh_token', refresh_token: 'x', client_secret: 'wrong' })).status).toBe(401);
    emu.oauth.decision = 'deny';
    try {
      const res = await authorize({});
      const back = new URL(res.headers.get('location')!);
      expect(back.searchParams.get('error')).toBe('access_denied');
      expect(back.searchParams.get('code')).toBeNull();
    } finally {
      emu.oauth.decision = 'approve';
    }
  });

  it('rotates refresh tokens (a spent one is invalid_grant) and stops accepting expired access tokens', async () => {
    const first = (await exchange(await code())).body;
    const second = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token })).body).toMatchObject({ error: 'invalid_grant' });
    expect((await viewer(second.body.access_token)).status).toBe(200);
    emu.oauth.expireAccessTokens();
    const refused = await viewer(second.body.access_token);
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].extensions.code).toBe('AUTHENTICATION_ERROR');
    // The API key keeps working next to the OAuth tokens.
    const byKey = await fetch(emu.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: emu.seeded!.apiKey }, body: JSON.stringify({ query: 'query Viewer { viewer { id } }' }) });
    expect(((await byKey.json()) as any).data.viewer.id).toBe(emu.seeded!.viewer.id);
  });
});
