import { describe, expect, it } from 'vitest';
import { buildPullRequestBody, pullRequestTitle } from '../../src/github/pull-requests.js';
import { parseGitHubRepo } from '../../src/github/repo-name.js';

describe('buildPullRequestBody', () => {
  it("holds the agent's summary, the task id and link, and the Linear issue link with a closing magic word", () => {
    const body = buildPullRequestBody({
      summary: 'Renamed the flag and updated the docs.',
      taskId: '01J0TASK',
      taskUrl: 'https://bgagent.example/tasks/01J0TASK',
      linearIssue: { identifier: 'ENG-123', url: 'https://linear.app/acme/issue/ENG-123/fix-flag' },
    });
    expect(body).toContain('Renamed the flag and updated the docs.');
    expect(body).toContain('[ENG-123](https://linear.app/acme/issue/ENG-123/fix-flag)');
    expect(body).toMatch(/^Fixes ENG-123$/m);
    expect(body).toContain('[`01J0TASK`](https://bgagent.example/tasks/01J0TASK)');
  });

  it('without a Linear issue names no magic word, and says when the agent left no summary', () => {
    const body = buildPullRequestBody({ summary: '  ', taskId: '01J0TASK' });
    expect(body).not.toMatch(/Fixes|Linear/);
    expect(body).toContain('`01J0TASK`');
    expect(body).toContain('The agent left no summary.');
  });

  it('truncates a summary that would exceed GitHub body limit', () => {
    const body = buildPullRequestBody({ summary: 'x'.repeat(100_000), taskId: 't' });
    expect(body.length).toBeLessThan(65_536);
    expect(body).toContain('(summary truncated)');
  });
});

describe('pullRequestTitle', () => {
  it('is the first non-empty line with whitespace collapsed', () => {
    expect(pullRequestTitle('\n\n  Fix   the   login bug  \nmore detail here')).toBe('Fix the login bug');
  });

  it('is at most 72 characters, cut at a word with an ellipsis', () => {
    const title = pullRequestTitle(`Refactor ${'the configuration loader '.repeat(10)}`);
    expect(title.length).toBeLessThanOrEqual(72);
    expect(title.endsWith('…')).toBe(true);
    expect(title).toMatch(/^Refactor the configuration loader/);
    expect(title).not.toMatch(/ …$/);
  });

  it('falls back to a generic title for an empty task', () => {
    expect(pullRequestTitle('   \n ')).toBe('bgagent task');
  });
});

describe('parseGitHubRepo', () => {
  it.each([
    ['acme/widgets', 'acme', 'widgets'],
    ['https://github.com/acme/widgets', 'acme', 'widgets'],
    ['https://github.com/acme/widgets.git', 'acme', 'widgets'],
    ['https://ghe.example.com/acme/my.repo/', 'acme', 'my.repo'],
    ['git@github.com:acme/widgets.git', 'acme', 'widgets'],
  ])('%s → %s/%s', (input, owner, repo) => {
    expect(parseGitHubRepo(input)).toEqual({ owner, repo });
  });

  it.each(['acme', 'acme/widgets/extra', 'https://github.com/acme', '', 'ac me/widgets'])('refuses %j', (input) => {
    expect(() => parseGitHubRepo(input)).toThrow(/not a GitHub repository/);
  });

  it('never echoes credentials from a URL it refuses', () => {
    expect(() => parseGitHubRepo('https://x-access-token:ghp_SECRET@github.com/acme')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('ghp_SECRET') }),
    );
  });
});
