import type { z } from 'zod';
import type { DataClass, ToolDescriptor } from '../shared/types';
import { approvalPlan } from './approval';
import { aboveDataClass, DEFAULT_DATA_BOUNDARIES, evaluateAction, ruleMatches } from './evaluate';
import type { Policy, PolicyRule } from './types';
import type { PolicyDocument, PolicyFile, policyNarrowingSchema } from '../config/policyFile';
import { StewardError } from '../errors';
import type { StewardConfig } from '../config/schema';

/** Where a task's policy came from: the file and the sha256 of its bytes when the task started. */
export interface PolicySource {
  file: string;
  sha256: string;
}

/** The plain-data policy a task runs under, from a checked policy file. */
export function policyOfDocument(doc: PolicyDocument): Policy {
  return {
    evaluation: 'strictest',
    fallback: doc.default,
    rules: doc.rules,
    roles: doc.roles,
    approvals: doc.approvals,
    ...(doc.dataCeiling ? { dataCeiling: doc.dataCeiling } : {}),
    dataBoundaries: doc.dataBoundaries ?? DEFAULT_DATA_BOUNDARIES,
  };
}

/**
 * The worker's policy for a task of `principal`: the policy file the caller read as the task started,
 * or the config's inline policy (its one approval setting, the principal as default approver, and the
 * built-in defaults for what no rule lists, so the demo works unchanged).
 */
export function basePolicy(
  config: Pick<StewardConfig, 'policy'>,
  principal: string,
  file?: PolicyFile,
): { policy: Policy; source?: PolicySource } {
  if (config.policy.file) {
    if (!file) throw new StewardError(`the policy file ${config.policy.file} was not read`);
    return { policy: policyOfDocument(file.document), source: { file: file.path, sha256: file.sha256 } };
  }
  // The inline policy: a deny wins here too; what no rule lists gets the built-in defaults.
  const { approvers, ...approval } = config.policy.approval;
  return {
    policy: {
      evaluation: 'strictest',
      fallback: 'builtin',
      rules: config.policy.rules,
      approval: { ...approval, approvers: approvers ?? [principal] },
      dataBoundaries: config.policy.dataBoundaries ?? DEFAULT_DATA_BOUNDARIES,
    },
  };
}

/** Arguments no condition can judge: a rule on arguments counts as possibly matching them. */
const ANY_ARGUMENTS = { $blob: 'any-arguments', bytes: 0, preview: '' };
const DATA_CLASSES: DataClass[] = ['public', 'internal', 'confidential'];

/**
 * The policy narrowed by a start request, or why the request is refused. A narrowing adds rules that
 * can only make a decision stricter (a deny or an approve; its allow rules decide nothing) and may
 * lower the data ceiling. An allow rule that would cover an action the policy denies or sends for
 * approval, a ceiling above the policy's, or an approval the policy does not define is refused, with
 * the rule named.
 */
export function narrowPolicy(
  policy: Policy,
  narrowing: z.output<typeof policyNarrowingSchema> | undefined,
  task: { agent: string; principal: string; tools: ToolDescriptor[] },
): Policy | { refused: string } {
  if (!narrowing) return policy;
  const out: Policy = { ...policy };
  if (narrowing.dataCeiling) {
    if (policy.dataCeiling && aboveDataClass(narrowing.dataCeiling, policy.dataCeiling)) {
      return {
        refused: `narrow.policy.dataCeiling ${narrowing.dataCeiling} would widen the task: the policy's ceiling is ${policy.dataCeiling}`,
      };
    }
    out.dataCeiling = narrowing.dataCeiling;
  }
  const rules: PolicyRule[] = [];
  for (const [i, rule] of (narrowing.rules ?? []).entries()) {
    const named = `narrow.policy.rules[${i}] (${rule.id})`;
    if (rule.decision === 'approve' && !approvalPlan(policy, rule.approval ?? 'default')) {
      return {
        refused: `${named} names approval ${rule.approval ?? 'default'}, which the policy does not define`,
      };
    }
    if (rule.decision === 'allow') {
      const widening = wouldWiden(policy, rule, task);
      if (widening) return { refused: `${named} ${widening}: a task may narrow its policy, never widen it` };
    }
    rules.push({ ...rule, id: `narrow/${rule.id}` });
  }
  if (rules.length > 0) out.narrowing = { rules };
  return out;
}

/** How an allow rule would widen the policy for this task, or undefined if it would not. */
function wouldWiden(
  policy: Policy,
  rule: PolicyRule,
  task: { agent: string; principal: string; tools: ToolDescriptor[] },
): string | undefined {
  for (const tool of task.tools) {
    for (const seen of DATA_CLASSES) {
      const context = { agent: task.agent, principal: task.principal, input: ANY_ARGUMENTS };
      const dataClass =
        DATA_CLASSES.indexOf(seen) > DATA_CLASSES.indexOf(tool.dataClass) ? seen : tool.dataClass;
      if (ruleMatches(policy, rule, tool, dataClass, context) === 'no') continue;
      const verdict = evaluateAction(policy, tool.name, task.tools, { dataClass: seen }, context);
      if (verdict.decision === 'deny')
        return `would allow ${tool.name}, which the policy denies (rule ${verdict.ruleIds.join(', ')})`;
      if (verdict.decision === 'approve')
        return `would allow ${tool.name} without the approval the policy asks for (rule ${verdict.ruleIds.join(', ')})`;
    }
  }
  return undefined;
}
