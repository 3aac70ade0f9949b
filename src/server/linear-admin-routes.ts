import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/config.js';
import { CredentialError, displayReference, keepInDatabase, parseCredentialReference, type CredentialResolver, type DatabaseSecrets } from '../credentials/index.js';
import { findUser, getProject, getViewer, type LinearViewer } from '../linear/api.js';
import { LinearClient } from '../linear/client.js';
import type { LinearClients } from '../linear/clients.js';
import { LinearApiError } from '../linear/errors.js';
import { DEFAULT_TRIGGER_LABEL } from '../linear/trigger.js';
import type { Store } from '../store/index.js';
import type { LinearProject, LinearWorkspace } from '../store/linear.js';
import { ApiError, toError } from '../tasks/errors.js';
import { repoNameSchema, validationMessage } from '../tasks/create-task.js';
import { literalOf } from './secret-fields.js';

export interface LinearAdminDeps {
  store: Store;
  credentials: CredentialResolver;
  /** Where a secret given as a value is kept: the database, so every process of a scale-out can read it. */
  secrets: DatabaseSecrets;
  linearClients: LinearClients;
  config: Config;
}

const ref = z.string().min(3).max(500);
// The key travels in an HTTP header: a control character or a space can never be part of a working one.
const HEADER_SAFE = /^[\x21-\x7e]+$/;
const setupBody = z
  .strictObject({ api_key: z.string().min(10).max(500).optional(), api_key_ref: ref.optional(), signing_secret: z.string().min(8).max(500).optional(), signing_secret_ref: ref.optional() })
  .refine((b) => !(b.api_key && b.api_key_ref), 'give api_key or api_key_ref, not both')
  .refine((b) => !(b.signing_secret && b.signing_secret_ref), 'give signing_secret or signing_secret_ref, not both');
const projectBody = z.strictObject({ project_id: z.string().min(1).max(100), repo: repoNameSchema, label: z.string().trim().min(1).max(100).optional(), workspace_id: z.string().optional() });
const linkBody = z.strictObject({ linear_user: z.string().min(1).max(320), user: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/), workspace_id: z.string().optional() });

function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new ApiError('VALIDATION_ERROR', validationMessage(r.error));
  return r.data;
}

/** References show as scheme and name; a literal value left from before 0008 as "(literal value)". */
const workspaceJson = (w: LinearWorkspace) => ({ id: w.id, url_key: w.url_key, name: w.name, api_key_ref: displayReference(w.api_key_ref), signing_secret_ref: w.signing_secret_ref === null ? null : displayReference(w.signing_secret_ref), viewer_id: w.viewer_id, status: w.status, auth_kind: w.auth_kind, app_user_id: w.app_user_id, status_reason: w.status_reason });
const projectJson = (p: LinearProject) => ({ project_id: p.project_id, workspace_id: p.workspace_id, name: p.name, repo: p.repo, label: p.trigger_label, status: p.status });

/** Linear administration under /v1/linear (admin token): workspace setup, project mappings, user links. */
export async function linearAdminRoutes(api: FastifyInstance, deps: LinearAdminDeps): Promise<void> {
  const { store, credentials, secrets, linearClients, config } = deps;

  /** Keeps a secret given as a value in the database; returns the reference that names it. */
  const keep = (name: string, value: string) => keepInDatabase(secrets, name, value, credentials);

  /** Turns a Linear failure into an answer the admin can act on. */
  async function callLinear<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const e = toError(err);
      if (e instanceof LinearApiError && /AUTH|CIRCUIT/.test(String(e.code))) throw new ApiError('VALIDATION_ERROR', `Linear refused the API key while ${what}: ${e.message}`);
      // A reference that does not resolve, or resolves to no usable key, is the admin's to fix; a passing failure (a 503) is not.
      if (e instanceof LinearApiError && e.cause instanceof CredentialError && e.cause.kind !== 'transient') {
        throw new ApiError('VALIDATION_ERROR', `the API key is unavailable while ${what}: ${e.cause.message}${e.cause.remedy ? ` (${e.cause.remedy})` : ''}`);
      }
      throw new ApiError('SERVICE_UNAVAILABLE', `could not reach Linear while ${what}: ${e.message}`);
    }
  }

  async function workspaceFor(id: string | undefined): Promise<LinearWorkspace> {
    const all = (await store.linear.listWorkspaces()).filter((w) => w.status === 'active');
    const w = id ? all.find((x) => x.id === id) : all.length === 1 ? all[0] : undefined;
    if (!w) throw new ApiError('VALIDATION_ERROR', id ? `Linear workspace ${id} is not set up` : all.length ? 'several Linear workspaces are set up: give workspace_id' : 'no Linear workspace is set up: run `bgagent linear setup` first');
    return w;
  }

  api.post('/linear/setup', { config: { access: 'admin' }, bodyLimit: 16 * 1024 }, async (req) => {
    const b = parse(setupBody, req.body);
    // A value given where a reference belongs is a secret too: it is kept in the database like one given as a
    // value, and the workspace stores only the db: reference.
    const apiKey = b.api_key ?? literalOf(b.api_key_ref, 'api_key_ref');
    const signingSecret = b.signing_secret ?? literalOf(b.signing_secret_ref, 'signing_secret_ref');
    if (apiKey !== undefined && !HEADER_SAFE.test(apiKey)) throw new ApiError('VALIDATION_ERROR', 'the API key must be printable ASCII without spaces');
    let viewer: LinearViewer;
    let apiKeyRef: string;
    if (apiKey !== undefined) {
      // Verify a new key before it replaces the stored one: a typo must not break a working setup.
      viewer = await callLinear('verifying the API key', () => getViewer(new LinearClient({ apiUrl: config.linear.apiUrl, getToken: async () => apiKey, maxRetries: 1 })));
      apiKeyRef = await keep(`linear-${viewer.organization.id}-api-key`, apiKey);
      linearClients.forRef(apiKeyRef).resetCircuit();
    } else {
      // LINEAR_API_KEY holding the key itself: the workspace names the variable, not its value.
      apiKeyRef = b.api_key_ref ?? (parseCredentialReference(config.linear.apiKeyRef).kind === 'literal' ? 'env:LINEAR_API_KEY' : config.linear.apiKeyRef);
      const client = linearClients.forRef(apiKeyRef);
      client.resetCircuit();
      viewer = await callLinear('verifying the API key', () => getViewer(client));
    }
    // Setting up again (e.g. to rotate the key) keeps the signing secret unless a new one is given.
    let signingSecretRef = (signingSecret === undefined ? b.signing_secret_ref : undefined) ?? (await store.linear.getWorkspace(viewer.organization.id))?.signing_secret_ref ?? null;
    if (signingSecret !== undefined) signingSecretRef = await keep(`linear-${viewer.organization.id}-signing-secret`, signingSecret);
    const workspace = await store.linear.upsertWorkspace({
      id: viewer.organization.id,
      urlKey: viewer.organization.urlKey,
      name: viewer.organization.name,
      apiKeyRef,
      signingSecretRef,
      viewerId: viewer.id,
    });
    const admin = await store.users.ensure('admin', { isAdmin: true });
    await store.linear.linkUser({ workspaceId: workspace.id, linearUserId: viewer.id, linearUserName: viewer.name, linearUserEmail: viewer.email ?? null, userId: admin.id });
    // Without BGAGENT_PUBLIC_URL, the address the admin reached us at (config.port may be 0, host 0.0.0.0).
    const base = (config.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '');
    return { workspace: workspaceJson(workspace), viewer: { id: viewer.id, name: viewer.name }, linked_to: 'admin', webhook_url: `${base}/v1/linear/webhook` };
  });

  api.get('/linear/workspaces', { config: { access: 'admin' } }, async () => ({ workspaces: (await store.linear.listWorkspaces()).map(workspaceJson) }));

  api.post('/linear/projects', { config: { access: 'admin' }, bodyLimit: 16 * 1024 }, async (req, reply) => {
    const b = parse(projectBody, req.body);
    if (!(await store.repos.get(b.repo))) throw new ApiError('REPO_NOT_ONBOARDED', `repository "${b.repo}" is not onboarded; add it with: bgagent repo add ${b.repo} --url <clone-url>`);
    const workspace = await workspaceFor(b.workspace_id);
    const client = await linearClients.forWorkspace(workspace.id);
    const project = await callLinear('looking up the project', () => getProject(client, b.project_id));
    if (!project) throw new ApiError('VALIDATION_ERROR', `Linear has no project ${b.project_id} visible to this API key`);
    const existed = await store.linear.getProject(project.id);
    const saved = await store.linear.upsertProject({ projectId: project.id, workspaceId: workspace.id, name: project.name, repo: b.repo, triggerLabel: b.label ?? DEFAULT_TRIGGER_LABEL });
    return reply.status(existed ? 200 : 201).send({ project: projectJson(saved) });
  });

  api.get('/linear/projects', { config: { access: 'admin' } }, async () => ({ projects: (await store.linear.listProjects()).map(projectJson) }));

  api.delete<{ Params: { id: string } }>('/linear/projects/:id', { config: { access: 'admin' } }, async (req) => {
    if (!(await store.linear.offboardProject(req.params.id))) throw new ApiError('NOT_FOUND', `project ${req.params.id} is not onboarded`);
    return { project: projectJson((await store.linear.getProject(req.params.id))!) };
  });

  api.post('/linear/links', { config: { access: 'admin' }, bodyLimit: 16 * 1024 }, async (req, reply) => {
    const b = parse(linkBody, req.body);
    const workspace = await workspaceFor(b.workspace_id);
    const client = await linearClients.forWorkspace(workspace.id);
    const person = await callLinear('looking up the user', () => findUser(client, b.linear_user));
    if (!person) throw new ApiError('VALIDATION_ERROR', `Linear has no user "${b.linear_user}" (give their id or email)`);
    const user = await store.users.ensure(b.user);
    await store.linear.linkUser({ workspaceId: workspace.id, linearUserId: person.id, linearUserName: person.name, linearUserEmail: person.email ?? null, userId: user.id });
    return reply.status(201).send({ link: { workspace_id: workspace.id, linear_user_id: person.id, linear_user_name: person.name, user: user.name } });
  });

  api.get('/linear/links', { config: { access: 'admin' } }, async () => ({
    links: (await store.linear.listUserLinks()).map((l) => ({ workspace_id: l.workspace_id, linear_user_id: l.linear_user_id, linear_user_name: l.linear_user_name, linear_user_email: l.linear_user_email, user: l.user_name })),
  }));
}
