import { createHash } from 'node:crypto';

/**
 * The page's stylesheet and script. They live in a TypeScript module so `tsc` ships them with the
 * server: no bundler, no run-time build, no CDN. The script is plain ES2020 run by the browser as is.
 */
const css = `
:root { color-scheme: light dark; --bg: #f7f7f8; --fg: #1d1d22; --muted: #6b6b76; --card: #fff; --line: #e2e2e7;
  --accent: #3b5bdb; --ok: #2b8a3e; --bad: #c92a2a; --warn: #e67700; --run: #1971c2; }
@media (prefers-color-scheme: dark) { :root { --bg: #16161a; --fg: #e7e7ea; --muted: #9a9aa5; --card: #1f1f24; --line: #33333b;
  --accent: #748ffc; --ok: #51cf66; --bad: #ff6b6b; --warn: #ffa94d; --run: #4dabf7; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header.top { display: flex; align-items: center; justify-content: space-between; padding: 10px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; font-size: 16px; color: var(--fg); }
header.top nav { display: flex; gap: 12px; align-items: center; color: var(--muted); }
header.top form { margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 20px; margin: 0; } h2 { font-size: 15px; margin: 24px 0 8px; }
button { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { border-color: var(--bad); color: var(--bad); }
button:disabled { opacity: .5; cursor: default; }
input, select { font: inherit; padding: 5px 8px; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); }
.muted { color: var(--muted); font-weight: normal; }
.error { color: var(--bad); }
form.filters { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin-bottom: 16px; }
form.filters label { display: flex; flex-direction: column; gap: 2px; color: var(--muted); font-size: 12px; }
table.tasks { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
table.tasks th, table.tasks td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.tasks th { font-size: 12px; color: var(--muted); font-weight: 600; }
table.tasks tr:last-child td { border-bottom: 0; }
table.tasks td.num { text-align: right; font-variant-numeric: tabular-nums; }
.task-line { display: block; max-width: 380px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.id { font: 11px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted); }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; color: var(--muted); }
.s-running, .s-hydrating, .s-finalizing { color: var(--run); }
.s-completed { color: var(--ok); } .s-failed, .s-timed_out { color: var(--bad); }
.s-queued, .s-awaiting_input { color: var(--warn); }
.task-head { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.task-head .spacer { flex: 1; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px 20px; margin: 16px 0; padding: 12px 16px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
dl.facts div { min-width: 0; } dl.facts dt { font-size: 12px; color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.links { display: flex; gap: 16px; margin: 0 0 12px; }
pre.description { white-space: pre-wrap; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 0; font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; }
ol.events { list-style: none; margin: 0; padding: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; max-height: 60vh; overflow: auto; }
ol.events li { display: grid; grid-template-columns: 70px 150px 1fr; gap: 10px; padding: 5px 12px; border-bottom: 1px solid var(--line); font-size: 13px; }
ol.events li:last-child { border-bottom: 0; }
ol.events .t { color: var(--muted); font-variant-numeric: tabular-nums; }
ol.events .type { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--accent); overflow-wrap: anywhere; }
ol.events .msg { white-space: pre-wrap; overflow-wrap: anywhere; }
.signin { max-width: 380px; margin: 12vh auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
.signin h1 { margin-bottom: 6px; } .signin form { display: flex; flex-direction: column; gap: 10px; margin-top: 16px; }
`;

const js = `(function () {
  'use strict';
  var CANCELLABLE = ['SUBMITTED', 'QUEUED', 'HYDRATING', 'RUNNING', 'AWAITING_INPUT'];
  var TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var usersEl = document.getElementById('bgagent-users');
  var users = usersEl ? JSON.parse(usersEl.textContent || '{}') : {};
  var page = document.body.getAttribute('data-page');

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (attrs[k] === undefined || attrs[k] === null) continue;
      if (k === 'text') node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) node.appendChild(arguments[i]);
    return node;
  }
  function signIn() {
    location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.search);
  }
  function api(method, path) {
    var headers = { accept: 'application/json' };
    if (method !== 'GET') headers['x-csrf-token'] = csrf;
    return fetch(path, { method: method, headers: headers, credentials: 'same-origin' }).then(function (res) {
      if (res.status === 401) { signIn(); throw new Error('signed out'); }
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + res.status);
        return body;
      });
    });
  }
  function age(iso) {
    if (!iso) return '';
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 60) return Math.floor(s) + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm';
    if (s < 86400) return Math.floor(s / 3600) + 'h';
    return Math.floor(s / 86400) + 'd';
  }
  function money(v) { return v === null || v === undefined ? '—' : '$' + Number(v).toFixed(2); }
  function who(id) { return users[id] || id; }
  function badge(status) { return el('span', { 'class': 'status s-' + status.toLowerCase(), text: status.replace('_', ' ') }); }
  function firstLine(text) { return String(text || '').split('\\n')[0]; }
  function safeUrl(u) { return typeof u === 'string' && /^https?:\\/\\//i.test(u) ? u : null; }
  function time(iso) { return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : ''; }

  function listPage() {
    var params = new URLSearchParams(location.search);
    var q = new URLSearchParams({ limit: '100' });
    if (params.get('status')) q.set('status', params.get('status'));
    if (params.get('repo')) q.set('repo', params.get('repo'));
    var rows = $('task-rows');
    var error = $('list-error');
    function render(tasks) {
      rows.textContent = '';
      if (!tasks.length) rows.appendChild(el('tr', null, el('td', { colspan: '7', 'class': 'muted', text: 'No tasks match.' })));
      tasks.forEach(function (t) {
        rows.appendChild(el('tr', { 'data-task-id': t.id, 'data-status': t.status },
          el('td', null, el('a', { href: '/tasks/' + t.id, 'class': 'task-line', title: t.task_description, text: firstLine(t.task_description) }), el('span', { 'class': 'id', text: t.id })),
          el('td', null, badge(t.status)),
          el('td', { text: t.repo }),
          el('td', { text: t.channel_source }),
          el('td', { text: who(t.user_id) }),
          el('td', { title: t.created_at, text: age(t.created_at) }),
          el('td', { 'class': 'num', text: money(t.cost_usd) })));
      });
    }
    function refresh() {
      if (document.visibilityState === 'hidden') return Promise.resolve();
      return api('GET', '/v1/tasks?' + q.toString()).then(function (body) {
        error.hidden = true;
        render(body.tasks);
      }, function (err) { error.hidden = false; error.textContent = 'Could not load tasks: ' + err.message; });
    }
    refresh();
    setInterval(refresh, 2000);
  }

  function taskPage() {
    var id = document.body.getAttribute('data-task-id');
    var task = null;
    var seen = {};
    var reload = null;
    var cancelButton = $('cancel');
    var streamState = $('stream-state');
    function fact(label, value) {
      if (value === null || value === undefined || value === '') return null;
      return el('div', null, el('dt', { text: label }), el('dd', { text: String(value) }));
    }
    function render() {
      document.title = firstLine(task.task_description).slice(0, 60) + ' · bgagent';
      $('task-title').textContent = firstLine(task.task_description);
      var status = $('task-status');
      status.textContent = '';
      status.appendChild(badge(task.status));
      var facts = $('task-facts');
      facts.textContent = '';
      [fact('Task', task.id), fact('Repository', task.repo), fact('Channel', task.channel_source), fact('Who', who(task.user_id)),
        fact('Created', task.created_at && new Date(task.created_at).toLocaleString()), fact('Finished', task.finished_at && new Date(task.finished_at).toLocaleString()),
        fact('Branch', task.branch_name), fact('Cost', task.cost_usd === null ? null : money(task.cost_usd)),
        fact('Turns', task.turns === null ? null : task.turns + (task.max_turns ? ' / ' + task.max_turns : '')),
        fact('Outcome', task.outcome), fact('Error', task.error_code && task.error_code + ': ' + (task.error_message || '')),
        fact('Cancelled by', task.cancelled_by), fact('Question', task.question), fact('Continues', task.parent_task_id)
      ].forEach(function (f) { if (f) facts.appendChild(f); });
      var links = $('task-links');
      links.textContent = '';
      var pr = safeUrl(task.pr_url);
      if (pr) links.appendChild(el('a', { href: pr, rel: 'noopener noreferrer', target: '_blank', text: 'Pull request' + (task.pr_number ? ' #' + task.pr_number : '') }));
      var meta = task.channel_metadata || {};
      var issue = safeUrl(meta.issueUrl) || safeUrl(meta.url);
      if (issue) links.appendChild(el('a', { href: issue, rel: 'noopener noreferrer', target: '_blank', text: 'Linear issue' + (meta.issueIdentifier ? ' ' + meta.issueIdentifier : '') }));
      $('task-description').textContent = task.task_description;
      cancelButton.hidden = CANCELLABLE.indexOf(task.status) < 0;
    }
    function loadTask() {
      return api('GET', '/v1/tasks/' + id).then(function (body) { task = body.task; render(); }, function (err) {
        $('task-title').textContent = err.message;
      });
    }
    function scheduleReload() {
      if (reload) return;
      reload = setTimeout(function () { reload = null; loadTask(); }, 300);
    }
    function addEvent(ev) {
      if (seen[ev.id]) return;
      seen[ev.id] = true;
      var list = $('events');
      var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
      list.appendChild(el('li', { 'data-type': ev.type },
        el('span', { 'class': 't', title: ev.created_at, text: time(ev.created_at) }),
        el('span', { 'class': 'type', text: ev.type }),
        el('span', { 'class': 'msg', text: ev.message })));
      if (atBottom) list.scrollTop = list.scrollHeight;
    }
    cancelButton.addEventListener('click', function () {
      cancelButton.disabled = true;
      api('DELETE', '/v1/tasks/' + id).then(function (body) { task = body.task; render(); }, function (err) {
        alert('Could not cancel: ' + err.message);
      }).then(function () { cancelButton.disabled = false; });
    });
    loadTask().then(function () {
      var source = new EventSource('/v1/tasks/' + id + '/events');
      source.onopen = function () { streamState.textContent = 'live'; };
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED) { streamState.textContent = 'disconnected'; loadTask(); }
        else streamState.textContent = 'reconnecting…';
      };
      source.addEventListener('task_event', function (e) { addEvent(JSON.parse(e.data)); scheduleReload(); });
      source.addEventListener('end', function () {
        source.close();
        streamState.textContent = 'ended';
        loadTask();
      });
      // The session ended (signed out elsewhere, expired, or its token revoked).
      source.addEventListener('closed', function () { source.close(); signIn(); });
    });
  }

  if (page === 'list') listPage();
  else if (page === 'task') taskPage();
})();
`;

function asset(name: string, ext: string, body: string, type: string) {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `/assets/${name}.${hash}.${ext}`, body, type };
}

/** Content-hashed paths, so the browser may cache them forever. */
export const ASSETS = {
  css: asset('app', 'css', css, 'text/css; charset=utf-8'),
  js: asset('app', 'js', js, 'text/javascript; charset=utf-8'),
};
