import type { ModelFetchProgress } from '../weights';
import type { AuditEntry } from '../audit/chain';
import type { TaskSummary } from '../runtime/client';
import { stepOfEntry, taskStepText } from '../shared/steps';
import type { McpServerStatus } from '../tools/mcp/source';
import type { TaskResult, TaskState } from '../workflows/contract';

export const usd = (value: number): string => `$${value.toFixed(6)}`;

export function uiLink(uiUrl: string | undefined, namespace: string, taskId: string): string | undefined {
  return (
    uiUrl && `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(taskId)}`
  );
}

/** A line of live progress for an audit entry worth showing, or undefined. */
export function progressLine(entry: AuditEntry, spendUsd: number): string | undefined {
  const d = entry.data as Record<string, string | number | undefined>;
  const at = (text: string) =>
    `  step ${String(stepOfEntry(entry)).padStart(2)}  ${text.padEnd(52)} ${usd(spendUsd)}`;
  switch (entry.kind) {
    case 'model.called':
      return at(`model: ${d.model} via ${d.provider}`);
    case 'tool.completed':
      return at(d.node ? `compute: ${d.tool} on node ${d.node}` : `tool: ${d.tool}`);
    case 'step.failed':
      return at(`failed${d.route ? ` on ${d.route}` : ''}: ${String(d.error).slice(0, 120)}`);
    case 'policy.decided':
      return d.decision === 'deny' ? at(`denied ${d.tool}: ${d.reason}`) : undefined;
    case 'approval.decided':
      return at(`${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.identity}`);
    case 'approval.escalated':
      return at(`approval escalated to ${String(d.approvers)}`);
    default:
      return undefined;
  }
}

/** The pending action in full; `shownInput` is its input with blob references resolved, if they could be. */
export function approvalText(
  state: TaskState,
  shownInput: unknown = state.pendingApproval!.action.input,
): string {
  const pending = state.pendingApproval!;
  return [
    `  Approval needed (${pending.id}): ${pending.action.tool} · step ${pending.step}`,
    ...argumentLines(shownInput, '      '),
    `    approvers: ${pending.approvers.join(', ')} · quorum ${pending.quorum} · deadline ${pending.deadline}`,
    `    digest: ${pending.digest}`,
    ...(pending.binding ? [`    tool definition: sha256 ${pending.binding.definitionHash}`] : []),
  ].join('\n');
}

/**
 * An action's arguments as a person reads them, like the review lane: one per line, and an argument
 * that is text (a draft, a file's content) as its lines, indented under its name, not as a JSON
 * string full of \n. Control characters are shown escaped, so a draft cannot move the cursor or
 * recolour the terminal to make the prompt say something else; every line keeps the indent.
 */
export function argumentLines(input: unknown, indent: string): string[] {
  const json = (value: unknown): string[] => (JSON.stringify(value, null, 2) ?? String(value)).split('\n');
  if (!input || typeof input !== 'object' || Array.isArray(input)) return json(input).map((l) => indent + l);
  return Object.entries(input as Record<string, unknown>).flatMap(([key, value]) => {
    const name = visible(key);
    if (typeof value !== 'string') {
      const [first, ...rest] = json(value);
      return [`${indent}${name}: ${first}`, ...rest.map((l) => indent + l)];
    }
    const lines = visible(value).split('\n');
    if (lines.length === 1) return [`${indent}${name}: ${lines[0]}`];
    // the gutter shows where the text starts and ends, and that no line of it is the prompt's own
    return [`${indent}${name}:`, ...lines.map((l) => `${indent}  │ ${l}`)];
  });
}

/** Text with its control and bidirectional-override characters written as \u escapes (newlines, tabs kept). */
function visible(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** One line per MCP server (its tools, or why it is unavailable), then one per tool it does not offer. */
export function mcpStatusLines(servers: McpServerStatus[]): string[] {
  return servers.flatMap((server) => {
    if (!server.connected) return [`MCP server ${server.server}: unavailable: ${server.reason}`];
    const offered = server.tools.filter((t) => t.available).length;
    return [
      `MCP server ${server.server}: ${offered} of ${server.tools.length} tools offered`,
      ...server.tools.filter((t) => !t.available).map((t) => `  ${t.name}: ${t.reason}`),
    ];
  });
}

export function resultText(result: TaskResult, seconds: number): string {
  const head = result.status === 'completed' ? 'completed' : `stopped: ${result.stopReason}`;
  const lines = [`${head} in ${seconds.toFixed(1)} s · ${result.steps} steps · ${usd(result.spendUsd)}`];
  if (result.detail) lines.push(`  reason: ${result.detail}`);
  if (result.result !== undefined)
    lines.push(
      `  result: ${typeof result.result === 'string' ? result.result : JSON.stringify(result.result)}`,
    );
  lines.push(`  audit: ${result.auditEntries} entries, head ${result.auditHead.slice(0, 16)}…`);
  return lines.join('\n');
}

export function stateText(state: TaskState): string {
  const lines = [
    `task ${state.taskId} · agent ${state.agent} · for ${state.principal}`,
    `  status: ${state.status}${state.status === 'stopped' ? ` (${state.stopReason}: ${state.stopDetail})` : ''}`,
    `  step: ${taskStepText(state)} · spend: ${usd(state.spendUsd)} of ${usd(state.budgetUsd)} · data: ${state.dataClass}`,
    `  started: ${state.startedAt} · deadline: ${state.deadline}`,
  ];
  if (state.current) lines.push(`  now: ${state.current}`);
  if (state.lastError) lines.push(`  last error: ${state.lastError}`);
  if (state.pendingApproval) lines.push(approvalText(state));
  if (state.result !== undefined) lines.push(`  result: ${JSON.stringify(state.result)}`);
  lines.push(`  audit: ${state.audit.entries} entries, head ${state.audit.head.slice(0, 16)}…`);
  return lines.join('\n');
}

export function listText(tasks: TaskSummary[]): string {
  if (tasks.length === 0) return 'no tasks yet';
  const rows = tasks.map((t) =>
    [
      t.taskId.padEnd(32),
      (t.agent ?? '').padEnd(16),
      t.status.padEnd(18),
      String(t.step ?? '').padStart(4),
      usd(t.spendUsd ?? 0),
      t.startTime.toISOString(),
    ].join('  '),
  );
  return [
    ['TASK'.padEnd(32), 'AGENT'.padEnd(16), 'STATUS'.padEnd(18), 'STEP', 'SPEND'.padEnd(9), 'STARTED'].join(
      '  ',
    ),
    ...rows,
  ].join('\n');
}

/** A progress bar on stderr for fetching the model's weights; redraws in place on a terminal. */
export function modelProgressPrinter(
  stream: NodeJS.WriteStream = process.stderr,
): (p: ModelFetchProgress) => void {
  let lastPrinted = 0;
  return ({ phase, bytes, total }) => {
    const now = Date.now();
    const finished = total !== undefined && bytes >= total;
    if (!finished && now - lastPrinted < (stream.isTTY ? 100 : 2000)) return;
    lastPrinted = now;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const label = { verify: 'checking model', download: 'downloading model', extract: 'unpacking model' }[
      phase
    ];
    let line = `${label}: ${mb(bytes)} MB`;
    if (total) {
      const width = 30;
      const filled = Math.round((bytes / total) * width);
      line = `${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${mb(bytes)}/${mb(total)} MB`;
    }
    stream.write(stream.isTTY ? `\r${line}${finished ? '\n' : ''}` : `${line}\n`);
  };
}
