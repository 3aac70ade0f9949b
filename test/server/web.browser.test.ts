import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createTask } from '../../src/tasks/create-task.js';
import { createBareRemote } from '../support/git-repos.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const chromiumSkipReason = existsSync(CHROMIUM) ? undefined : `browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`;
if (chromiumSkipReason) console.warn(chromiumSkipReason);

const ARTIFACTS = 'test-artifacts';

/** The web page in real Chromium against a real server whose worker runs a command agent. */
describe.skipIf(chromiumSkipReason)('the web page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const logLines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    server = await startTestServer({ dialect: 'sqlite', logger: createLogger({ level: 'debug', destination: sink }) });
    const remote = createBareRemote();
    const onboard = await server.api('POST', '/v1/repos', {
      body: { name: 'acme/web', clone_url: remote.url, agent: 'command', agent_settings: { command: 'for i in $(seq 1 300); do echo "working: step $i"; sleep 0.2; done' } },
    });
    expect(onboard.status).toBe(201);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
    // Below the test's own timeout, so a failure names the step that waited.
    page.setDefaultTimeout(15_000);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it('signs in, shows a new task, streams its events live, cancels it and shows the new status', async () => {
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    await page.fill('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await page.getByRole('alert').getByText('That token is not valid').waitFor();
    await page.fill('#token', server.adminToken);
    await page.click('button[type=submit]');
    await page.waitForURL(`${server.url}/`);
    await page.getByText('Signed in as').waitFor();
    expect(await page.evaluate('document.cookie')).toBe('');

    // A task submitted elsewhere (the API) appears in the list without a reload.
    const created = await server.api('POST', '/v1/tasks', {
      body: { repo: 'acme/web', task: 'Add a dark mode toggle to the settings page' },
    });
    expect(created.status).toBe(201);
    const id: string = created.body.task.id;
    const row = page.locator(`tr[data-task-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('td').nth(2).textContent()).toBe('acme/web');
    expect(await row.locator('td').nth(4).textContent()).toBe('admin');
    await waitFor(async () => ((await row.getAttribute('data-status')) === 'RUNNING' ? true : undefined), 15_000, 'RUNNING in the list');
    await page.screenshot({ path: `${ARTIFACTS}/task-list.png` });

    // The task page streams agent output as it is written.
    await row.locator('a').click();
    await page.waitForURL(`${server.url}/tasks/${id}`);
    await page.locator('#stream-state', { hasText: 'live' }).waitFor();
    const outputs = page.locator('li[data-type="agent_output"]');
    await outputs.first().waitFor();
    const seenFirst = await outputs.count();
    await waitFor(async () => ((await outputs.count()) >= seenFirst + 3 ? true : undefined), 10_000, 'more agent output, live');
    expect(await outputs.first().locator('.msg').textContent()).toBe('working: step 1');
    expect(await page.locator('#task-status').textContent()).toBe('RUNNING');
    await page.screenshot({ path: `${ARTIFACTS}/task-page.png`, fullPage: true });

    // Cancel from the page (a cookie request with the CSRF header).
    await page.click('#cancel');
    await page.locator('#task-status', { hasText: 'CANCELLED' }).waitFor();
    await page.locator('li[data-type="task_cancelled"]').waitFor();
    await page.locator('#stream-state', { hasText: 'ended' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#cancel').isHidden()).toBe(true);
    expect((await server.api('GET', `/v1/tasks/${id}`)).body.task).toMatchObject({ status: 'CANCELLED', cancelled_by: 'admin' });
    await page.screenshot({ path: `${ARTIFACTS}/task-page-cancelled.png`, fullPage: true });

    // Filters.
    await page.goto(`${server.url}/?status=CANCELLED&repo=acme%2Fweb`);
    await page.locator(`tr[data-task-id="${id}"]`).waitFor();
    await page.goto(`${server.url}/?status=RUNNING`);
    await page.getByText('No tasks match.').waitFor();

    for (const line of logLines) expect(line).not.toContain(server.adminToken);
    if (process.env.BGAGENT_UPDATE_SCREENSHOTS) {
      mkdirSync('docs/images', { recursive: true });
      copyFileSync(`${ARTIFACTS}/task-page.png`, 'docs/images/task-page.png');
      copyFileSync(`${ARTIFACTS}/task-list.png`, 'docs/images/task-list.png');
    }
  });

  it('links a task to its pull request and Linear issue, and signs out', async () => {
    // Channel metadata comes only from a channel's own code, so the task is created the way a channel does.
    const admin = (await server.store.users.authenticate(server.adminToken))!;
    const metadata = { issueUrl: 'https://linear.app/acme/issue/ENG-7', issueIdentifier: 'ENG-7' };
    const { task } = await createTask({ store: server.store }, admin, { repo: 'acme/web', task: 'Fix the login redirect' }, { origin: { source: 'api', metadata } });
    const id = task.id;
    const updated = await server.store.tasks.update(id, ['SUBMITTED', 'QUEUED', 'HYDRATING', 'RUNNING'], { pr_url: 'https://github.com/acme/web/pull/42', pr_number: 42 });
    expect(updated).toBe(true);
    await page.goto(`${server.url}/tasks/${id}`);
    await page.getByRole('link', { name: 'Pull request #42' }).waitFor();
    expect(await page.getByRole('link', { name: 'Pull request #42' }).getAttribute('href')).toBe('https://github.com/acme/web/pull/42');
    expect(await page.getByRole('link', { name: 'Linear issue ENG-7' }).getAttribute('href')).toBe('https://linear.app/acme/issue/ENG-7');
    await server.api('DELETE', `/v1/tasks/${id}`);

    // The page may reload the cancelled task as the cookie goes and land on /signin?next=…, which is as good.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/signin', { timeout: 10_000 });
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
  });
});
