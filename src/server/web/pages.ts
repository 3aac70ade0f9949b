import { TASK_STATUSES, TERMINAL_STATUSES } from '../../tasks/states.js';
import type { User } from '../../tasks/task.js';
import { ASSETS } from './assets.js';

/** Server-rendered shells; the script fills in tasks and events from the API. Every value is escaped. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Session {
  user: User;
  csrf: string;
  /** user id → name, for the "who" column. */
  userNames: Record<string, string>;
}

function layout(title: string, body: string, opts: { page: string; session?: Session; taskId?: string }): string {
  const s = opts.session;
  // JSON inside <script> must not be able to close the element.
  const names = s ? JSON.stringify(s.userNames).replace(/</g, '\\u003c') : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · bgagent</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS.css.path}">
${s ? `<meta name="csrf-token" content="${escapeHtml(s.csrf)}">\n<script type="application/json" id="bgagent-users">${names}</script>` : ''}
<script src="${ASSETS.js.path}" defer></script>
</head>
<body data-page="${opts.page}"${opts.taskId ? ` data-task-id="${escapeHtml(opts.taskId)}"` : ''}>
${
  s
    ? `<header class="top"><a class="brand" href="/">bgagent</a><nav><span>Signed in as <strong>${escapeHtml(s.user.name)}</strong></span>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="${escapeHtml(s.csrf)}"><button type="submit">Sign out</button></form></nav></header>`
    : ''
}
<main>
${body}
</main>
</body>
</html>
`;
}

export function signInPage(opts: { next: string; error?: string }): string {
  return layout(
    'Sign in',
    `<section class="signin">
<h1>Sign in to bgagent</h1>
<p class="muted">Paste an API token (<code>bgagent token create</code>, or the admin token file in the data directory).</p>
${opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : ''}
<form method="post" action="/signin">
<input type="hidden" name="next" value="${escapeHtml(opts.next)}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button class="primary" type="submit">Sign in</button>
</form>
</section>`,
    { page: 'signin' },
  );
}

const STATUS_FILTERS: Array<[string, string]> = [
  ['', 'any'],
  [TASK_STATUSES.filter((st) => !TERMINAL_STATUSES.includes(st)).join(','), 'not finished'],
  ...TASK_STATUSES.map((s): [string, string] => [s, s.replace('_', ' ')]),
];

export function taskListPage(session: Session, filters: { status: string; repo: string }): string {
  const options = STATUS_FILTERS.map(
    ([value, label]) => `<option value="${value}"${value === filters.status ? ' selected' : ''}>${escapeHtml(label)}</option>`,
  ).join('');
  return layout(
    'Tasks',
    `<form class="filters" method="get" action="/">
<label>Status<select name="status">${options}</select></label>
<label>Repository<input name="repo" value="${escapeHtml(filters.repo)}" placeholder="any"></label>
<button type="submit">Filter</button>
<a href="/">Clear</a>
</form>
<table class="tasks">
<thead><tr><th>Task</th><th>Status</th><th>Repository</th><th>Channel</th><th>Who</th><th>Age</th><th class="num">Cost</th></tr></thead>
<tbody id="task-rows"><tr><td colspan="7" class="muted">Loading…</td></tr></tbody>
</table>
<p id="list-error" class="error" hidden></p>`,
    { page: 'list', session },
  );
}

export function taskPage(session: Session, taskId: string): string {
  return layout(
    `Task ${taskId}`,
    `<p><a href="/">← All tasks</a></p>
<section class="task-head">
<h1 id="task-title">Loading…</h1>
<span id="task-status"></span>
<span class="spacer"></span>
<button id="cancel" class="danger" type="button" hidden>Cancel task</button>
</section>
<dl class="facts" id="task-facts"></dl>
<p class="links" id="task-links"></p>
<pre class="description" id="task-description"></pre>
<h2>Events <span id="stream-state" class="muted">connecting…</span></h2>
<ol class="events" id="events"></ol>`,
    { page: 'task', session, taskId },
  );
}
