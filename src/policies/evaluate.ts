import type { DataClass, ToolDescriptor } from '../shared/types';
import { allMatch, type Match } from './args';
import type { ActionContext, Decision, Policy, PolicyRule, PolicyVerdict } from './types';

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

/** True when `a` is a stricter (more secret) class than `b`. */
export function aboveDataClass(a: DataClass, b: DataClass): boolean {
  return DATA_CLASS_ORDER.indexOf(a) > DATA_CLASS_ORDER.indexOf(b);
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
 * can keep a tool away from a task that has read confidential data; nothing that touches data above
 * the policy's ceiling is allowed. `context` (agent, principal, arguments) is what rules of a policy
 * file may also match on. Pure: its inputs are in the workflow's history, so replay decides the same.
 *
 * `evaluation: 'strictest'` (every task resolved since policy files): every matching rule counts and
 * the strictest decision wins, then the fallback (deny, or the built-in defaults). Without it (older
 * histories): the first matching rule decides, then the defaults, as it did then. A task's narrowing
 * can only make the result stricter.
 */
export function evaluateAction(
  policy: Policy,
  toolName: string,
  granted: ToolDescriptor[],
  state: { dataClass: DataClass } = { dataClass: 'public' },
  context: ActionContext = {},
): PolicyVerdict {
  const tool = granted.find((t) => t.name === toolName);
  if (!tool) {
    return {
      decision: 'deny',
      ruleIds: ['builtin/tool-not-granted'],
      reason: `tool ${toolName} is not granted to this agent`,
    };
  }
  const dataClass = stricterDataClass(tool.dataClass, state.dataClass);
  if (policy.dataCeiling && aboveDataClass(dataClass, policy.dataCeiling)) {
    return {
      decision: 'deny',
      ruleIds: ['builtin/above-data-ceiling'],
      reason: `${toolName} would touch ${dataClass} data, above the policy's ceiling (${policy.dataCeiling})`,
    };
  }
  // A tool whose input may leave (an open-world MCP tool reaches `public`) is a route for the task's
  // data: the data boundaries apply to it as to a model route. Absent in older histories.
  if (tool.reach && !policy.dataBoundaries[state.dataClass].includes(tool.reach)) {
    return {
      decision: 'deny',
      ruleIds: ['builtin/data-boundary'],
      reason: `${toolName} may send its input to ${tool.reach} parties, where the task's ${state.dataClass} data may not go`,
    };
  }
  const verdict =
    policy.evaluation === 'strictest'
      ? strictest(policy, policy.rules, tool, dataClass, context, fallback(policy, tool, dataClass))!
      : firstMatch(policy, tool, dataClass);
  if (!policy.narrowing) return verdict;
  // a narrowing's allow rules decide nothing; where none of its rules match, it does not restrict
  const narrowing = policy.narrowing.rules.filter((r) => r.decision !== 'allow');
  const narrowed = strictest(policy, narrowing, tool, dataClass, context, undefined);
  return narrowed ? stricterVerdict(verdict, narrowed) : verdict;
}

function firstMatch(policy: Policy, tool: ToolDescriptor, dataClass: DataClass): PolicyVerdict {
  for (const rule of [...policy.rules, ...DEFAULT_RULES]) {
    if (matches(rule, tool, dataClass)) {
      return { decision: rule.decision, ruleIds: [rule.id], reason: rule.reason ?? `rule ${rule.id}` };
    }
  }
  return { decision: 'deny', ruleIds: ['builtin/no-rule-matched'], reason: `no rule allows ${tool.name}` };
}

const has = (value: object, key: string): boolean => Object.prototype.hasOwnProperty.call(value, key);

/** The principal's roles under the policy's `roles` map. */
export function rolesOf(policy: Pick<Policy, 'roles'>, identity: string | undefined): string[] {
  if (identity === undefined || !policy.roles || !has(policy.roles, identity)) return [];
  return policy.roles[identity] ?? [];
}

/**
 * Whether a rule matches, on every field it sets. What the context does not say (no agent, an
 * argument in the blob store) is `unknown`.
 */
export function ruleMatches(
  policy: Pick<Policy, 'roles'>,
  rule: PolicyRule,
  tool: ToolDescriptor,
  dataClass: DataClass,
  context: ActionContext,
): Match {
  if (!matches(rule, tool, dataClass)) return 'no';
  let result: Match = 'yes';
  const member = (list: string[] | undefined, value: string | undefined): Match =>
    !list ? 'yes' : value === undefined ? 'unknown' : list.includes(value) ? 'yes' : 'no';
  const roles = rule.roles
    ? context.principal === undefined
      ? 'unknown'
      : rolesOf(policy, context.principal).some((r) => rule.roles!.includes(r))
        ? 'yes'
        : 'no'
    : 'yes';
  const args = rule.args?.length ? allMatch(rule.args, context.input) : 'yes';
  for (const m of [
    member(rule.agents, context.agent),
    member(rule.principals, context.principal),
    roles,
    args,
  ]) {
    if (m === 'no') return 'no';
    if (m === 'unknown') result = 'unknown';
  }
  return result;
}

/**
 * Every rule that matches counts; deny wins over approve, approve over allow; where no rule matches,
 * `otherwise` decides (undefined: nothing is decided). A rule that cannot be told to match or not
 * (`unknown`: an argument in the blob store, or of another type) counts as whatever is stricter, so
 * what cannot be judged never gets a looser decision than any value it might stand for: a deny rule
 * counts as matching; an approve rule as matching, or as not (then `otherwise`, if nothing else surely
 * matches), whichever is stricter; an allow rule as not matching.
 */
function strictest(
  policy: Policy,
  rules: PolicyRule[],
  tool: ToolDescriptor,
  dataClass: DataClass,
  context: ActionContext,
  otherwise: PolicyVerdict | undefined,
): PolicyVerdict | undefined {
  const sure: Record<Decision, PolicyRule[]> = { deny: [], approve: [], allow: [] };
  const approveMaybe: PolicyRule[] = [];
  const deny: PolicyRule[] = [];
  const approve: PolicyRule[] = [];
  for (const rule of rules) {
    const m = ruleMatches(policy, rule, tool, dataClass, context);
    if (m === 'no') continue;
    if (m === 'yes') sure[rule.decision].push(rule);
    if (rule.decision === 'deny') deny.push(rule);
    if (rule.decision === 'approve') approve.push(rule);
    if (m === 'unknown' && rule.decision === 'approve') approveMaybe.push(rule);
  }
  const verdict = (decision: Decision, matched: PolicyRule[]): PolicyVerdict => ({
    decision,
    ruleIds: matched.map((r) => r.id),
    reason: matched[0]!.reason ?? `rule ${matched[0]!.id}`,
    ...(decision === 'approve' ? { approval: matched[0]!.approval ?? 'default' } : {}),
  });
  if (deny.length > 0) return verdict('deny', deny);
  if (sure.approve.length > 0 || (approveMaybe.length > 0 && sure.allow.length > 0))
    return verdict('approve', approve);
  if (approveMaybe.length > 0) {
    const asked = verdict('approve', approve);
    return otherwise ? stricterVerdict(asked, otherwise) : asked;
  }
  if (sure.allow.length > 0) return verdict('allow', sure.allow);
  return otherwise;
}

/** What an action no rule of a policy file lists gets: denied, or the inline policy's defaults. */
function fallback(policy: Policy, tool: ToolDescriptor, dataClass: DataClass): PolicyVerdict {
  if (policy.fallback === 'builtin') {
    const rule = DEFAULT_RULES.find((r) => matches(r, tool, dataClass))!;
    return {
      decision: rule.decision,
      ruleIds: [rule.id],
      reason: rule.reason!,
      ...(rule.decision === 'approve' ? { approval: 'default' } : {}),
    };
  }
  return {
    decision: 'deny',
    ruleIds: ['default/deny-unlisted'],
    reason: `no rule of the policy allows ${tool.name}`,
  };
}

const RANK: Record<Decision, number> = { allow: 0, approve: 1, deny: 2 };

/**
 * The stricter of two verdicts. At the same decision the first one's approval rule stands (a task's
 * narrowing never replaces its policy's approvers) and both lists of rule ids are kept.
 */
export function stricterVerdict(a: PolicyVerdict, b: PolicyVerdict): PolicyVerdict {
  if (RANK[b.decision] > RANK[a.decision]) return b;
  if (RANK[b.decision] < RANK[a.decision] || a.decision === 'allow') return a;
  return { ...a, ruleIds: [...a.ruleIds, ...b.ruleIds] };
}
