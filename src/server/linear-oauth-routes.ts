import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { LinearClients } from '../linear/clients.js';
import { completeInstall, INSTALL_TTL_MS, LINEAR_APP_SCOPES, startInstall } from '../linear/oauth/install.js';
import type { OAuthTokenEndpoint } from '../linear/oauth/token-endpoint.js';
import type { OAuthTokenVault } from '../linear/oauth/token-vault.js';
import type { Store } from '../store/index.js';
import type { LinearOAuthInstall } from '../store/linear-oauth.js';
import { ApiError } from '../tasks/errors.js';
import { escapeHtml } from './web/pages.js';

export interface LinearOAuthRouteDeps {
  store: Store;
  config: Config;
  linearClients: LinearClients;
  vault: OAuthTokenVault;
  /** Undefined when LINEAR_OAUTH_CLIENT_ID / LINEAR_OAUTH_CLIENT_SECRET are not set. */
  endpoint: OAuthTokenEndpoint | undefined;
  logger: Logger;
}

export const CALLBACK_PATH = '/v1/linear/oauth/callback';

/** The webhook categories to enable in the app's settings, and why. */
export const LINEAR_APP_WEBHOOK_EVENTS = [
  { category: 'Agent session events', why: 'delegations and @mentions start and steer agent sessions' },
  { category: 'Issues', why: 'the trigger label still starts tasks' },
  { category: 'OAuth app revoked', why: 'uninstalling bgagent stops every call to that workspace (OAuthApp events)' },
] as const;

/** Without BGAGENT_PUBLIC_URL, the address the admin reached us at. */
function baseUrl(config: Config, req: FastifyRequest): string {
  return (config.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '');
}

function installJson(i: LinearOAuthInstall, now: number) {
  const expired = (i.status === 'pending' || i.status === 'exchanging') && i.expires_at <= now;
  return { id: i.id, status: expired ? 'expired' : i.status, workspace_id: i.workspace_id, error: i.error, expires_at: new Date(i.expires_at).toISOString() };
}

/** Admin routes under /v1/linear/oauth (token-protected): what to register in Linear, and the install flow. */
export async function linearOAuthAdminRoutes(api: FastifyInstance, deps: LinearOAuthRouteDeps): Promise<void> {
  const { store, config } = deps;
  const oauth = config.linear.oauth;

  api.get('/linear/oauth/app-setup', { config: { access: 'admin' } }, async (req) => {
    const base = baseUrl(config, req);
    return {
      callback_url: `${base}${CALLBACK_PATH}`,
      webhook_url: `${base}/v1/linear/webhook`,
      scopes: [...LINEAR_APP_SCOPES],
      webhook_events: LINEAR_APP_WEBHOOK_EVENTS.map((e) => ({ ...e })),
      public_url_set: config.publicUrl !== undefined,
      configured: { client_id: oauth.clientId !== undefined, client_secret: oauth.clientSecretRef !== undefined, webhook_secret: config.linear.webhookSecretRef !== undefined },
    };
  });

  api.post('/linear/oauth/installs', { config: { access: 'admin' } }, async (req, reply) => {
    if (!oauth.clientId || !deps.endpoint) {
      throw new ApiError('VALIDATION_ERROR', 'the Linear OAuth app is not configured: set LINEAR_OAUTH_CLIENT_ID and LINEAR_OAUTH_CLIENT_SECRET (see `bgagent linear app-setup`) and restart bgagent');
    }
    const redirectUri = `${baseUrl(config, req)}${CALLBACK_PATH}`;
    const { install, authorizeUrl } = await startInstall({ store, oauth: { ...oauth, clientId: oauth.clientId } }, redirectUri);
    return reply.status(201).send({ install: installJson(install, Date.now()), authorize_url: authorizeUrl, redirect_uri: redirectUri, expires_in_seconds: INSTALL_TTL_MS / 1000 });
  });

  api.get<{ Params: { id: string } }>('/linear/oauth/installs/:id', { config: { access: 'admin' } }, async (req) => {
    const install = await store.linearOAuth.getInstall(req.params.id);
    if (!install) throw new ApiError('NOT_FOUND', `install ${req.params.id} not found`);
    const workspace = install.workspace_id ? await store.linear.getWorkspace(install.workspace_id) : undefined;
    return {
      install: installJson(install, Date.now()),
      workspace: workspace ? { id: workspace.id, name: workspace.name, url_key: workspace.url_key, app_user_id: workspace.app_user_id, auth_kind: workspace.auth_kind, status: workspace.status } : null,
    };
  });
}

const callbackQuery = z.object({
  code: z.string().min(1).max(2000).optional(),
  state: z.string().min(1).max(500).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

/** `GET /v1/linear/oauth/callback`: public (Linear redirects the admin's browser here); the state is the proof. */
export async function linearOAuthCallbackRoutes(app: FastifyInstance, deps: LinearOAuthRouteDeps): Promise<void> {
  app.get('/linear/oauth/callback', { config: { access: 'public' } }, async (req, reply) => {
    const page = (status: number, title: string, message: string) =>
      reply
        .status(status)
        .headers({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
        .send(`<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>\n`);
    const q = callbackQuery.safeParse(req.query);
    if (!q.success) return page(400, 'bgagent could not be installed', 'The callback parameters are malformed. Run `bgagent linear install` again.');
    const { config, endpoint } = deps;
    if (!config.linear.oauth.clientId || !endpoint) return page(503, 'bgagent could not be installed', 'The Linear OAuth app is not configured on this server (LINEAR_OAUTH_CLIENT_ID, LINEAR_OAUTH_CLIENT_SECRET).');
    const outcome = await completeInstall(
      {
        store: deps.store,
        oauth: { ...config.linear.oauth, clientId: config.linear.oauth.clientId },
        apiUrl: config.linear.apiUrl,
        endpoint,
        vault: deps.vault,
        clients: deps.linearClients,
        logger: deps.logger,
      },
      q.data,
    );
    if (!outcome.ok) return page(outcome.status, 'bgagent could not be installed', outcome.message);
    return page(200, 'bgagent is installed', `bgagent is installed in the Linear workspace "${outcome.workspace.name}" as ${outcome.appUser.name}. You can close this window.`);
  });
}
