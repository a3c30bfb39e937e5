/**
 * The review lane's pages, rendered on the server. Everything shown that came from a task (arguments,
 * results, errors, reasons, identities) goes through the escaping `html` template.
 */
import type { AuditVerification } from '../actions';
import type { ApprovalRequest } from '../../policies/approval';
import { taskStepText } from '../../shared/steps';
import type { TaskState } from '../../workflows/contract';
import type { Caller } from '../auth';
import type { PendingApproval, TaskRow } from '../tasks';
import type { Timeline } from '../timeline';
import { html, shown, type Html } from './html';

export interface PageContext {
  caller?: Caller;
  csrf?: string;
}

export function page(title: string, ctx: PageContext, body: Html): string {
  const who = ctx.caller
    ? html`<span class="who">${ctx.caller.identity} · ${ctx.caller.roles.join(', ') || 'no roles'}</span>
        <form method="post" action="/ui/logout">
          <input type="hidden" name="csrf" value="${ctx.csrf}" /><button type="submit">Sign out</button>
        </form>`
    : html``;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Steward</title>
        <link rel="stylesheet" href="/ui/assets/app.css" />
        <script src="/ui/assets/app.js" defer></script>
      </head>
      <body>
        <header class="top">
          <span class="brand">Steward review lane</span>
          ${ctx.caller ? html`<nav><a href="/ui/">Inbox</a><a href="/ui/tasks">Tasks</a></nav>` : ''} ${who}
        </header>
        <main>${body}</main>
      </body>
    </html>`.value;
}

export function loginPage(loginToken: string, problem?: string): string {
  return page(
    'Sign in',
    {},
    html`<h1>Sign in</h1>
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
      <form method="post" action="/ui/login" class="card">
        <input type="hidden" name="csrf" value="${loginToken}" />
        <label for="token"
          >Your API token (from <code>steward tokens create</code>, or your identity provider)</label
        >
        <textarea id="token" name="token" autocomplete="off" spellcheck="false" required></textarea>
        <div class="buttons"><button type="submit">Sign in</button></div>
      </form>`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string, back?: string): string {
  return page(
    'Problem',
    ctx,
    html`<h1>That did not work (${status})</h1>
      <p class="error" role="alert">${message}</p>
      ${back ? html`<p><a href="${back}">Back</a></p>` : ''}`,
  );
}

const usd = (n: number | undefined) => (n === undefined ? '–' : `$${n.toFixed(6)}`);

function argumentsList(input: unknown): Html {
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const rows = Object.entries(input as Record<string, unknown>).map(
      ([key, value]) =>
        html`<dt>${key}</dt>
          <dd><pre class="arg" data-arg="${key}">${shown(value)}</pre></dd>`,
    );
    return html`<dl class="args">${rows}</dl>`;
  }
  return html`<pre class="arg">${shown(input)}</pre>`;
}

/** The pending action with its exact arguments, who may decide, and the decide form if the caller may. */
export function approvalCard(
  ctx: PageContext,
  item: Pick<PendingApproval, 'taskId' | 'agent' | 'principal' | 'dataClass' | 'spendUsd' | 'budgetUsd'> & {
    request: ApprovalRequest;
    mayDecide: boolean;
    mayApprove: boolean;
  },
  options: { linkTask: boolean },
): Html {
  const r = item.request;
  const key = `${item.taskId}|${r.id}|${r.digest}`;
  const decided = r.decisions.filter((d) => d.digest === r.digest);
  return html`<section class="card approval" data-key="${key}" data-task="${item.taskId}">
    <h3>
      ${r.action.tool}
      <span class="empty">· step ${r.step} · ${r.id}</span>
    </h3>
    <dl class="facts">
      <dt>Task</dt>
      <dd>
        ${
          options.linkTask
            ? html`<a href="/ui/tasks/${encodeURIComponent(item.taskId)}">${item.taskId}</a>`
            : html`<span class="mono">${item.taskId}</span>`
        }
      </dd>
      <dt>Agent</dt>
      <dd>${item.agent}</dd>
      <dt>On behalf of</dt>
      <dd>${item.principal}</dd>
      <dt>Data class</dt>
      <dd>${item.dataClass}</dd>
      <dt>Spend so far</dt>
      <dd>${usd(item.spendUsd)} of ${usd(item.budgetUsd)}</dd>
      <dt>Asked by rules</dt>
      <dd class="mono">${r.ruleIds.join(', ') || '–'}</dd>
      <dt>Approvers</dt>
      <dd>
        ${r.approvers.join(', ')} · quorum
        ${r.quorum}${r.levels ? ` · level ${(r.level ?? 0) + 1} of ${r.levels}` : ''}
      </dd>
      ${
        decided.length
          ? html`<dt>Decided so far</dt>
              <dd>
                ${decided.map((d) => `${d.identity}: ${d.decision}${d.reason ? ` (${d.reason})` : ''}`).join('; ')}
              </dd>`
          : ''
      }
      <dt>Deadline</dt>
      <dd>
        <time datetime="${r.deadline}" data-deadline="${r.deadline}">${r.deadline}</time> · ${r.deadline}
      </dd>
      <dt>Digest</dt>
      <dd class="mono">${r.digest}</dd>
      ${
        r.binding
          ? html`<dt>Tool definition</dt>
              <dd class="mono">sha256 ${r.binding.definitionHash}</dd>`
          : ''
      }
    </dl>
    <h4>Arguments</h4>
    ${argumentsList(r.action.input)}
    <details>
      <summary>Exact call as JSON</summary>
      <pre class="exact">${JSON.stringify(r.action, null, 2)}</pre>
    </details>
    ${
      item.mayDecide
        ? html`<form
            method="post"
            action="/ui/tasks/${encodeURIComponent(item.taskId)}/decision"
            class="decide"
          >
            <input type="hidden" name="csrf" value="${ctx.csrf}" />
            <input type="hidden" name="approvalId" value="${r.id}" />
            <input type="hidden" name="digest" value="${r.digest}" />
            <label>Reason <textarea name="reason" maxlength="2000"></textarea></label>
            <div class="buttons">
              ${
                item.mayApprove
                  ? html`<button type="submit" name="decision" value="approve" class="approve">
                      Approve
                    </button>`
                  : html`<span class="empty">You started this task and may not approve it.</span>`
              }
              <button type="submit" name="decision" value="reject" class="reject">Reject</button>
            </div>
          </form>`
        : html`<p class="empty">Waiting for ${r.approvers.join(', ')}.</p>`
    }
  </section>`;
}

/** The live part of the inbox: refreshed by polling while the page is open. */
export function inboxFragment(
  ctx: PageContext,
  approvals: PendingApproval[],
  more: string | undefined,
): Html {
  const version = approvals.map((a) => `${a.taskId}|${a.request.id}|${a.request.digest}`).join(',');
  return html`<div id="inbox" data-refresh="/ui/inbox/fragment" data-every="2000" data-version="${version}">
    ${
      approvals.length
        ? approvals.map((a) => approvalCard(ctx, { ...a, mayDecide: true }, { linkTask: true }))
        : html`<p class="empty">Nothing waits for you.</p>`
    }
    ${more ? html`<p><a href="/ui/?pageToken=${more}">More</a></p>` : ''}
  </div>`;
}

export function inboxPage(ctx: PageContext, fragment: Html): string {
  return page(
    'Inbox',
    ctx,
    html`<h1>Waiting for you</h1>
      ${fragment}`,
  );
}

/** The timeline as a bar chart: one row per step, placed on the task's time axis. */
export function timelineChart(timeline: Timeline): Html {
  if (!timeline.items.length || !timeline.startAt) return html`<p class="empty">No steps yet.</p>`;
  const t0 = Date.parse(timeline.startAt);
  const span = Math.max(1, timeline.totalMs);
  const labelW = 330;
  const barW = 520;
  const rowH = 22;
  const width = labelW + barW + 240;
  const height = timeline.items.length * rowH + 24;
  const rows = timeline.items.map((item, i) => {
    const x = labelW + ((Date.parse(item.startAt) - t0) / span) * barW;
    const w = Math.max(2, (item.durationMs / span) * barW);
    const y = 20 + i * rowH;
    const label = `${item.step} · ${item.label}`;
    return html`<g class="row" data-kind="${item.kind}">
      <title>${item.label} at ${item.where}: ${item.durationMs} ms, ${usd(item.costUsd)}</title>
      <text x="4" y="${y + 14}">${label.length > 48 ? `${label.slice(0, 47)}…` : label}</text>
      <rect
        class="${item.kind}"
        x="${x.toFixed(1)}"
        y="${y + 3}"
        width="${w.toFixed(1)}"
        height="${rowH - 7}"
        rx="2"
      ></rect>
      <text x="${labelW + barW + 8}" y="${y + 14}"
        >${item.where} · ${fmtMs(item.durationMs)} · ${usd(item.costUsd)}</text
      >
    </g>`;
  });
  return html`<svg
      class="timeline"
      role="img"
      aria-label="timeline of the task's steps"
      width="${width}"
      height="${height}"
      viewBox="0 0 ${width} ${height}"
    >
      <text x="${labelW}" y="12">0</text>
      <text x="${labelW + barW - 40}" y="12">${fmtMs(timeline.totalMs)}</text>
      ${rows}
    </svg>
    <table class="steps">
      <thead>
        <tr>
          <th>step</th>
          <th>what</th>
          <th>where</th>
          <th>how long</th>
          <th>cost</th>
        </tr>
      </thead>
      <tbody>
        ${timeline.items.map(
          (i) =>
            html`<tr data-kind="${i.kind}">
              <td>${i.step}</td>
              <td>${i.label}</td>
              <td>${i.where}</td>
              <td>${fmtMs(i.durationMs)}</td>
              <td>${usd(i.costUsd)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function fmtMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export interface TaskView {
  state: TaskState;
  timeline: Timeline;
  verdict: AuditVerification;
  temporalUiUrl?: string;
  mayDecide: boolean;
  mayApprove: boolean;
}

/** The live part of a task's page. */
/** The audit's verdict: verified (and which key signed its head), or where and why it breaks. */
function verdictHtml(v: AuditVerification): Html {
  if (!v.ok) return html`<span class="verdict bad">does not verify</span> at entry ${v.seq}: ${v.reason}`;
  const head = html`<span class="mono">${v.head.slice(0, 16)}…</span>`;
  const signed = v.signed
    ? html`, signed at entry ${v.signed.seq} by key <span class="mono">${v.signed.keyId}</span>`
    : '';
  return html`<span class="verdict ok">verified</span>: ${v.entries} entries, head ${head}${signed}`;
}

export function taskFragment(ctx: PageContext, view: TaskView): Html {
  const s = view.state;
  const final = s.status === 'completed' || s.status === 'stopped';
  const version = `${s.status}|${s.audit.entries}|${s.audit.head}`;
  return html`<div
    id="task-live"
    data-refresh="/ui/tasks/${encodeURIComponent(s.taskId)}/fragment"
    data-every="1000"
    data-version="${version}"
    data-final="${final ? 'true' : 'false'}"
  >
    <dl class="facts card">
      <dt>Status</dt>
      <dd>
        <span class="status ${s.status}" id="status">${s.status}</span
        >${s.stopReason && s.stopReason !== 'completed' ? html` · <strong>${s.stopReason}</strong>` : ''}
      </dd>
      ${
        s.stopDetail && s.status === 'stopped'
          ? html`<dt>Why</dt>
              <dd>${s.stopDetail}</dd>`
          : ''
      }
      <dt>Agent</dt>
      <dd>${s.agent}</dd>
      <dt>On behalf of</dt>
      <dd>${s.principal}</dd>
      <dt>Step</dt>
      <dd>${taskStepText(s)}${s.current ? html` · now: ${s.current}` : ''}</dd>
      <dt>Spend</dt>
      <dd>${usd(s.spendUsd)} of ${usd(s.budgetUsd)}</dd>
      <dt>Data class</dt>
      <dd>${s.dataClass}</dd>
      <dt>Started</dt>
      <dd>${s.startedAt}</dd>
      ${
        s.lastError
          ? html`<dt>Last error</dt>
              <dd><pre>${s.lastError}</pre></dd>`
          : ''
      }
      ${
        s.result !== undefined
          ? html`<dt>Result</dt>
              <dd><pre id="result">${shown(s.result)}</pre></dd>`
          : ''
      }
      <dt>Audit</dt>
      <dd id="verdict">${verdictHtml(view.verdict)}</dd>
      ${
        view.temporalUiUrl
          ? html`<dt>Temporal</dt>
              <dd>
                <a href="${view.temporalUiUrl}" target="_blank" rel="noopener noreferrer" id="temporal-link"
                  >this task in the Temporal UI</a
                >
              </dd>`
          : ''
      }
    </dl>
    ${
      s.pendingApproval
        ? html`<h2>Waiting for approval</h2>
            ${approvalCard(
              ctx,
              { ...s, request: s.pendingApproval, mayDecide: view.mayDecide, mayApprove: view.mayApprove },
              { linkTask: false },
            )}`
        : ''
    }
    <h2>Timeline</h2>
    <div id="timeline">${timelineChart(view.timeline)}</div>
  </div>`;
}

export function taskPage(ctx: PageContext, view: TaskView, notice?: string): string {
  return page(
    view.state.taskId,
    ctx,
    html`<h1>Task <span class="mono">${view.state.taskId}</span></h1>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ''} ${taskFragment(ctx, view)}`,
  );
}

export function tasksPage(
  ctx: PageContext,
  rows: TaskRow[],
  filter: { status?: string; agent?: string; principal?: string },
  next?: string,
): string {
  const query = (token: string) =>
    new URLSearchParams({
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.agent ? { agent: filter.agent } : {}),
      ...(filter.principal ? { principal: filter.principal } : {}),
      pageToken: token,
    }).toString();
  const statuses = ['', 'running', 'awaiting_approval', 'completed', 'stopped'];
  return page(
    'Tasks',
    ctx,
    html`<h1>Tasks</h1>
      <form method="get" action="/ui/tasks" class="card">
        <label
          >Status
          <select name="status">
            ${statuses.map(
              (s) =>
                html`<option value="${s}" ${filter.status === s ? html`selected` : ''}>
                  ${s || 'any'}
                </option>`,
            )}
          </select></label
        >
        <label>Agent <input type="text" name="agent" value="${filter.agent ?? ''}" /></label>
        <label>Principal <input type="text" name="principal" value="${filter.principal ?? ''}" /></label>
        <button type="submit">Filter</button>
      </form>
      <table>
        <thead>
          <tr>
            <th>task</th>
            <th>agent</th>
            <th>for</th>
            <th>status</th>
            <th>step</th>
            <th>spend</th>
            <th>started</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (r) =>
              html`<tr>
                <td><a href="/ui/tasks/${encodeURIComponent(r.taskId)}">${r.taskId}</a></td>
                <td>${r.agent ?? ''}</td>
                <td>${r.principal ?? ''}</td>
                <td><span class="status ${r.status}">${r.status}</span></td>
                <td>${r.step ?? ''}</td>
                <td>${usd(r.spendUsd)}</td>
                <td>${r.startTime}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${rows.length ? '' : html`<p class="empty">No tasks.</p>`}
      ${next ? html`<p><a href="/ui/tasks?${query(next)}">Next page</a></p>` : ''}`,
  );
}
