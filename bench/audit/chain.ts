import {
  appendAudit,
  GENESIS,
  type AuditEntry,
  type AuditEvent,
  type ChainHead,
} from '../../src/audit/chain';
import { sha256Hex } from '../../src/audit/sha256';
import { prng } from '../../test/support/prng';
import { round } from '../driver';

const TOOLS = ['read_file', 'search_web', 'list_dir', 'http_get', 'write_file'];
const MODELS = [
  { route: 'openai-mini', provider: 'openai', model: 'gpt-4o-mini', response: 'gpt-4o-mini-2024-07-18' },
  { route: 'local-llama', provider: 'ollama', model: 'llama3.1:8b', response: 'llama3.1:8b' },
];
const AGENT = { agent: 'researcher', principal: 'zoë.müller@example.com' };

/**
 * A task's trail as the workflow writes it (src/workflows: agentRun, modelStep, action, approvalStep,
 * taskContext): task.started, then per step model.called, action.proposed, policy.decided and
 * tool.completed (a few steps fail, a few writes wait for a signed approval), task.continued every
 * 400 entries, task.completed last. Hashed with appendAudit, so the chain is valid.
 */
export function buildChain(taskId: string, size: number, seed = 12): AuditEntry[] {
  const rand = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const digest = (): string => sha256Hex(String(rand()));
  const policyHash = sha256Hex('policy');
  const entries: AuditEntry[] = [];
  let head: ChainHead = GENESIS;
  let step = 0;
  let ms = Date.UTC(2026, 10, 27, 9);
  const push = (kind: string, fields: Omit<AuditEvent, 'kind' | 'at' | 'step'>): void => {
    if (entries.length >= size) return;
    ms += 1 + Math.floor(rand() * 900);
    const entry = appendAudit(head, taskId, { kind, at: new Date(ms).toISOString(), step, ...fields });
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  };
  push('task.started', {
    actor: AGENT,
    data: {
      ...AGENT,
      limits: { maxSteps: 200, budgetUsd: 2, deadlineSeconds: 3600, maxDenials: 3, maxInvalidOutputs: 3 },
      models: MODELS.map((m) => m.route),
      policyHash,
      policySource: 'steward.yaml',
    },
  });
  while (entries.length < size - 1) {
    if (entries.length % 400 > 396)
      push('task.continued', { data: { run: Math.floor(entries.length / 400) + 1 } });
    step++;
    const m = pick(MODELS);
    const usage = {
      inputTokens: 800 + Math.floor(rand() * 6000),
      outputTokens: 20 + Math.floor(rand() * 400),
    };
    const costUsd = round(usage.inputTokens * 1.5e-7 + usage.outputTokens * 6e-7, 6);
    push('model.called', {
      actor: AGENT,
      action: { type: 'model', 'gen_ai.request.model': m.model, activity: 'callModel' },
      route: {
        id: m.route,
        'gen_ai.provider.name': m.provider,
        'gen_ai.request.model': m.model,
        'gen_ai.response.model': m.response,
        'gen_ai.response.id': `chatcmpl-${digest().slice(0, 29)}`,
        taskQueue: 'steward',
        worker: '48213@worker-2',
      },
      dataRef: { classes: ['internal'] },
      outcome: { ok: true, resultDigest: digest() },
      usage: {
        'gen_ai.usage.input_tokens': usage.inputTokens,
        'gen_ai.usage.output_tokens': usage.outputTokens,
      },
      cost: { usd: costUsd, basis: 'billed' },
      data: { route: m.route, provider: m.provider, model: m.response, usage, reservedUsd: 0.004, costUsd },
    });
    const tool = pick(TOOLS);
    const argsDigest = digest();
    const callId = `call_${digest().slice(0, 24)}`;
    push('action.proposed', { data: { tool, digest: argsDigest } });
    const approve = tool === 'write_file' && rand() < 0.5;
    const ruleIds = approve ? ['writes-need-approval'] : ['reads-allowed'];
    push('policy.decided', {
      actor: AGENT,
      action: { type: 'tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.id': callId, argsDigest },
      decision: { effect: approve ? 'approve' : 'allow', ruleIds, policyHash },
      data: {
        tool,
        digest: argsDigest,
        source: 'model',
        decision: approve ? 'approve' : 'allow',
        ruleIds,
        reason: approve ? 'rule writes-need-approval: write_file needs an approval' : 'rule reads-allowed',
      },
    });
    if (approve) {
      const id = `approval-${step}`;
      push('approval.requested', {
        data: {
          id,
          digest: argsDigest,
          tool,
          approvers: ['ops-lead', 'security'],
          deadline: new Date(ms + 86_400_000).toISOString(),
        },
      });
      push('approval.decided', {
        actor: { principal: AGENT.principal, approver: 'ops-lead', keyId: 'install-3f9a1c2b7d6e5a40' },
        action: { type: 'tool', 'gen_ai.tool.name': tool, argsDigest },
        decision: { effect: 'approve', ruleIds, policyHash },
        data: {
          id,
          identity: 'ops-lead',
          decision: 'approve',
          reason: 'looks right — ok to write ✓',
          digest: argsDigest,
          signature: {
            keyId: 'install-3f9a1c2b7d6e5a40',
            at: new Date(ms).toISOString(),
            sig: digest() + digest(),
          },
        },
      });
    }
    if (rand() < 0.04) {
      const message = `${tool} failed: HTTP 503 from upstream (attempt ${1 + Math.floor(rand() * 3)})`;
      push('step.failed', {
        action: { type: 'tool', activity: 'runTool' },
        outcome: { ok: false, errorType: 'ToolFailed', message },
        data: { step, route: null, error: message },
      });
      continue;
    }
    const outputDigest = digest();
    push('tool.completed', {
      action: { type: 'tool', 'gen_ai.tool.name': tool, activity: 'runTool' },
      route: { taskQueue: 'steward', worker: '48213@worker-2' },
      dataRef: { classes: ['internal'], ...(rand() < 0.2 ? { outputBlobs: [digest()] } : {}) },
      outcome: { ok: true, resultDigest: digest() },
      data: { tool, outputDigest, bytes: Math.floor(rand() * 60_000) },
    });
  }
  push('task.completed', {
    actor: AGENT,
    data: { status: 'completed', steps: step, spendUsd: 0.84, detail: 'done' },
  });
  return entries;
}
