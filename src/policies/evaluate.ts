import type { DataClass, ToolDescriptor } from '../shared/types';
import type { Policy, PolicyRule, PolicyVerdict } from './types';

/** Rules that apply after the task's own: reads are allowed, every other effect needs a person. */
export const DEFAULT_RULES: PolicyRule[] = [
  { id: 'default/read-allowed', effects: ['read'], decision: 'allow', reason: 'reading is allowed' },
  {
    id: 'default/effects-need-approval',
    effects: ['write', 'spend', 'irreversible'],
    decision: 'approve',
    reason: 'actions with effects beyond reading need approval',
  },
];

export const DEFAULT_DATA_BOUNDARIES: Policy['dataBoundaries'] = {
  public: ['local', 'private', 'public'],
  internal: ['local', 'private', 'public'],
  confidential: ['local', 'private'],
};

const DATA_CLASS_ORDER: DataClass[] = ['public', 'internal', 'confidential'];

/** The stricter of two data classes: a transcript that saw confidential data stays confidential. */
export function stricterDataClass(a: DataClass, b: DataClass): DataClass {
  return DATA_CLASS_ORDER.indexOf(a) >= DATA_CLASS_ORDER.indexOf(b) ? a : b;
}

/** `dataClass` is the stricter of what the tool returns and what the task has already seen. */
function matches(rule: PolicyRule, tool: ToolDescriptor, dataClass: DataClass): boolean {
  return (
    (!rule.tools || rule.tools.includes(tool.name)) &&
    (!rule.effects || rule.effects.includes(tool.effect)) &&
    (!rule.dataClasses || rule.dataClasses.includes(dataClass))
  );
}

/**
 * Decides one proposed tool action. `granted` is the agent's tool list: a tool outside it is denied
 * whatever the rules say. `state.dataClass` is the class of data the task has seen so far, so a rule
 * can keep a tool away from a task that has read confidential data. Pure: its inputs are in the
 * workflow's history, so replay decides the same.
 */
export function evaluateAction(
  policy: Policy,
  toolName: string,
  granted: ToolDescriptor[],
  state: { dataClass: DataClass } = { dataClass: 'public' },
): PolicyVerdict {
  const tool = granted.find((t) => t.name === toolName);
  if (!tool) {
    return {
      decision: 'deny',
      ruleIds: ['builtin/tool-not-granted'],
      reason: `tool ${toolName} is not granted to this agent`,
    };
  }
  for (const rule of [...policy.rules, ...DEFAULT_RULES]) {
    if (matches(rule, tool, stricterDataClass(tool.dataClass, state.dataClass))) {
      return { decision: rule.decision, ruleIds: [rule.id], reason: rule.reason ?? `rule ${rule.id}` };
    }
  }
  return { decision: 'deny', ruleIds: ['builtin/no-rule-matched'], reason: `no rule allows ${toolName}` };
}
