import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createBareRemote } from '../support/git-repos.js';
import { startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { dumpDatabase } from '../support/db-dump.js';

describe('bgagent linear: setup, onboard a project, link a user, list them', () => {
  let emu: LinearEmulator;
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    emu = await startLinearEmulator();
    server = await startTestServer({ dialect: 'sqlite', env: { LINEAR_API_URL: emu.url } });
    env = { BGAGENT_URL: server.url, BGAGENT_DATA_DIR: server.dataDir };
  });
  afterAll(async () => {
    await server.destroy();
    await emu.close();
  });

  it('walks an admin through setup with the key on stdin, never echoing it', async () => {
    const { organization, viewer, human, apiKey } = emu.seeded!;
    const setup = await runCli(['linear', 'setup', '--api-key-stdin'], env, `${apiKey}\n`);
    expect(setup.code, setup.stderr).toBe(0);
    expect(setup.stdout).toContain(`Linear workspace "${organization.name}" (${organization.id}) is set up`);
    expect(setup.stdout).toContain(`${server.url}/v1/linear/webhook`);
    expect(setup.stdout + setup.stderr).not.toContain(apiKey);
    const workspaces = await server.api('GET', '/v1/linear/workspaces');
    expect(workspaces.body.workspaces).toEqual([expect.objectContaining({ id: organization.id, api_key_ref: `db:linear-${organization.id}-api-key`, viewer_id: viewer.id, status: 'active' })]);
    // doctor checks the workspace's own references too, and never prints the key.
    const doctor = await runCli(['doctor', '--json'], env);
    const rows = JSON.parse(doctor.stdout).credentials as { variable: string; status: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ variable: `Linear workspace ${organization.name}: API key`, status: 'ok' }));
    expect(doctor.stdout).not.toContain(apiKey);
    // The key is kept encrypted: the database never holds it in clear.
    expect(await dumpDatabase(server.store)).not.toContain(apiKey);

    expect((await server.api('POST', '/v1/repos', { body: { name: 'demo', clone_url: createBareRemote().url, agent: 'command', agent_settings: { command: 'true' } } })).status).toBe(201);
    const project = emu.state.addProject({ name: 'Website' });
    const onboard = await runCli(['linear', 'onboard-project', project.id, '--repo', 'demo', '--json'], env);
    expect(onboard.code, onboard.stderr).toBe(0);
    expect(JSON.parse(onboard.stdout).project).toEqual({ project_id: project.id, workspace_id: organization.id, name: 'Website', repo: 'demo', label: 'bgagent', status: 'active' });

    const unknown = await runCli(['linear', 'onboard-project', 'no-such-project', '--repo', 'demo'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Linear has no project no-such-project');
    const link = await runCli(['linear', 'link', '--linear-user', human.email, '--user', 'ada', '--json'], env);
    expect(link.code, link.stderr).toBe(0);
    expect(JSON.parse(link.stdout).link).toEqual({ workspace_id: organization.id, linear_user_id: human.id, linear_user_name: human.name, user: 'ada' });

    const projects = await runCli(['linear', 'list-projects', '--json'], env);
    expect(JSON.parse(projects.stdout).projects).toHaveLength(1);
    // Humans get a table; scripts use --json (as every command above).
    const users = await runCli(['linear', 'users'], env);
    expect(users.stdout).toContain(human.email);
    expect(users.stdout).toMatch(new RegExp(`${human.id}\\s+ada`));
    expect(users.stdout).toMatch(new RegExp(`${viewer.id}\\s+admin`));

    const off = await runCli(['linear', 'offboard-project', project.id, '--json'], env);
    expect(JSON.parse(off.stdout).project.status).toBe('removed');
    expect((await server.api('GET', '/v1/linear/projects')).body.projects[0].status).toBe('removed');
  });

  it('refuses a key Linear does not accept, with a message the admin can act on', async () => {
    const bad = await runCli(['linear', 'setup', '--api-key-stdin'], env, 'lin_api_not_a_real_key_123\n');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Linear refused the API key');
    expect(bad.stderr).not.toContain('lin_api_not_a_real_key_123');
    // The refused key did not replace the working one.
    const project = emu.state.addProject({ name: 'Docs' });
    const onboard = await server.api('POST', '/v1/linear/projects', { body: { project_id: project.id, repo: 'demo' } });
    expect(onboard.status, JSON.stringify(onboard.body)).toBe(201);
  });
});
