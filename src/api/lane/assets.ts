/**
 * The review lane's only script and style sheet, served as they are (no build step). The script
 * counts deadlines down and refreshes the live parts of a page by polling their server-rendered
 * fragments; it never builds markup from data itself, so the server's escaping is the only escaping.
 */
export const APP_JS = `'use strict';
(function () {
  function left(ms) {
    if (ms <= 0) return 'passed';
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60), r = s % 60;
    if (d > 0) return 'in ' + d + 'd ' + h + 'h';
    if (h > 0) return 'in ' + h + 'h ' + m + 'm';
    return 'in ' + m + 'm ' + r + 's';
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('[data-deadline]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('data-deadline'));
      if (!isNaN(t)) {
        el.textContent = left(t - now);
        el.classList.toggle('late', t - now < 5 * 60 * 1000);
      }
    });
  }
  // What a person typed into a form survives a refresh of the part of the page around it.
  function typed(root) {
    var out = {};
    root.querySelectorAll('textarea[name], input[type=text][name]').forEach(function (el) {
      var form = el.closest('[data-key]');
      if (el.value) out[(form ? form.getAttribute('data-key') : '') + '|' + el.name] = el.value;
    });
    return out;
  }
  function restore(root, values) {
    root.querySelectorAll('textarea[name], input[type=text][name]').forEach(function (el) {
      var form = el.closest('[data-key]');
      var v = values[(form ? form.getAttribute('data-key') : '') + '|' + el.name];
      if (v) el.value = v;
    });
  }
  function poll(el) {
    var url = el.getAttribute('data-refresh');
    var every = Number(el.getAttribute('data-every') || 2000);
    function again() { setTimeout(run, every); }
    function run() {
      if (el.getAttribute('data-final') === 'true') return;
      fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } })
        .then(function (r) {
          if (r.status === 401) { window.location.assign('/ui/login'); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (text) {
          if (text === null) return again();
          var t = document.createElement('template');
          t.innerHTML = text;
          var fresh = t.content.firstElementChild;
          if (fresh && fresh.getAttribute('data-version') !== el.getAttribute('data-version')) {
            var active = document.activeElement;
            var keep = typed(el);
            var focused = active && el.contains(active) && active.name ? active.name : null;
            el.innerHTML = fresh.innerHTML;
            el.setAttribute('data-version', fresh.getAttribute('data-version') || '');
            el.setAttribute('data-final', fresh.getAttribute('data-final') || 'false');
            restore(el, keep);
            if (focused) { var f = el.querySelector('[name="' + focused + '"]'); if (f) f.focus(); }
            tick();
            el.dispatchEvent(new CustomEvent('refreshed', { bubbles: true }));
          }
          again();
        }, again);
    }
    again();
  }
  document.addEventListener('DOMContentLoaded', function () {
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll('[data-refresh]').forEach(poll);
  });
})();
`;

export const APP_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #5b636e; --line: #d8dde3; --accent: #1f5fbf;
  --ok: #1a7f37; --bad: #b42318; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1.5em; align-items: center; padding: .6em 1.2em; background: #fff;
  border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 600; }
header.top nav a { margin-right: 1em; }
header.top .who { margin-left: auto; color: var(--muted); }
header.top form { display: inline; }
main { max-width: 1100px; margin: 1.2em auto; padding: 0 1.2em; }
a { color: var(--accent); }
h1 { font-size: 1.35em; margin: .2em 0 .8em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .5em; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1em 1.2em; margin: 0 0 1em; }
.card h3 { margin: 0 0 .4em; font-size: 1.05em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: .6em 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
pre { background: #f1f3f5; border: 1px solid var(--line); border-radius: 6px; padding: .6em .8em; margin: .2em 0;
  white-space: pre-wrap; word-break: break-word; max-height: 40em; overflow: auto; font-size: 13px; }
.args dt { font-family: ui-monospace, monospace; font-weight: 600; margin-top: .5em; }
.args dd { margin: 0; }
code, .mono { font-family: ui-monospace, monospace; font-size: 13px; }
textarea { width: 100%; min-height: 3.2em; font: inherit; padding: .4em; }
button { font: inherit; padding: .35em 1em; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.approve { background: var(--ok); color: #fff; border-color: var(--ok); }
button.reject { background: var(--bad); color: #fff; border-color: var(--bad); }
.late { color: var(--bad); font-weight: 600; }
.status { display: inline-block; padding: 0 .5em; border-radius: 4px; background: #e8ecf1; }
.status.completed { background: #dafbe1; } .status.stopped { background: #ffebe9; }
.status.awaiting_approval { background: #fff8c5; }
.notice { background: #ddf4ff; border: 1px solid #b6e3ff; padding: .5em .8em; border-radius: 6px; }
.error { background: #ffebe9; border: 1px solid #ffcecb; padding: .5em .8em; border-radius: 6px; }
.verdict.ok { color: var(--ok); } .verdict.bad { color: var(--bad); font-weight: 600; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
svg.timeline text { font: 12px system-ui, sans-serif; fill: var(--fg); }
svg.timeline .model { fill: #5b8def; } svg.timeline .tool { fill: #47b881; } svg.timeline .compute { fill: #9b6bd3; }
svg.timeline .approval { fill: #e3a008; } svg.timeline .failure { fill: #d64545; }
.empty { color: var(--muted); }
form.inline { display: inline; }
.buttons { display: flex; gap: .6em; margin-top: .5em; }
`;
