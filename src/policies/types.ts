import type { DataClass, ToolEffect, TrustTier } from '../shared/types';

export type Decision = 'allow' | 'deny' | 'approve';

/**
 * A condition on one of the action's arguments (`arg` is a dotted path into the input):
 * a path glob on a string, the host of a URL, a numeric comparison, or an exact value.
 */
export type ArgCondition =
  | { arg: string; glob: string }
  | { arg: string; host: string }
  | { arg: string; compare: '>' | '>=' | '<' | '<=' | '==' | '!='; value: number }
  | { arg: string; equals: string | number | boolean };

/**
 * A rule matches an action when every field it sets matches. Every matching rule counts and the
 * strictest decision wins: deny over approve over allow (`evaluation: 'strictest'`). Policies recorded
 * before that (no `evaluation`) let the first matching rule decide, and replay as they ran.
 */
export interface PolicyRule {
  id: string;
  tools?: string[];
  effects?: ToolEffect[];
  dataClasses?: DataClass[];
  /** Agent names (policy files). */
  agents?: string[];
  /** Identities the task acts on behalf of (policy files). */
  principals?: string[];
  /** Roles of the principal, from the policy's `roles` (policy files). */
  roles?: string[];
  /** Conditions on the action's arguments, all of which must hold (policy files). */
  args?: ArgCondition[];
  decision: Decision;
  /** With `approve`: the name of the approval rule (`approvals`) that applies; else `default`. */
  approval?: string;
  reason?: string;
}

/** The approval settings of the config's inline policy (one list, one optional escalation). */
export interface ApprovalPolicy {
  /** Identities allowed to approve. */
  approvers: string[];
  /** Distinct approvals needed; one rejection rejects. */
  quorum: number;
  timeoutSeconds: number;
  /** At the deadline: stop the task (`approval_expired`), or hand the request to `escalateTo` once. */
  onExpiry: 'stop' | 'escalate';
  escalateTo?: string[];
  escalationTimeoutSeconds?: number;
}

/** Who may decide at one level of an approval, how many must agree, and for how long they may take. */
export interface ApproverLevel {
  identities?: string[];
  /** Every identity that `roles` gives one of these roles. */
  roles?: string[];
  quorum: number;
  timeoutSeconds: number;
}

/** A named approval rule of a policy file: a first level, then an escalation chain, then a stop. */
export interface ApprovalRule extends ApproverLevel {
  /** The task's principal may approve its own task only if this is true. */
  allowSelfApproval?: boolean;
  /** Top-level arguments an approver may change; an edit makes a new digest and is audited. */
  editable?: string[];
  /** Levels tried in turn when the one before passes its deadline undecided; after the last, the task stops. */
  escalation?: ApproverLevel[];
}

export interface Policy {
  rules: PolicyRule[];
  /** The inline policy's approval settings; a policy file has `approvals` instead. */
  approval?: ApprovalPolicy;
  /** Which trust tiers may see data of each class (models and compute nodes alike). */
  dataBoundaries: Record<DataClass, TrustTier[]>;
  /** `strictest`: deny wins, then approve, then allow. Absent (histories before it): the first match decides. */
  evaluation?: 'strictest';
  /** With `strictest`: what an action no rule lists gets: denied, or the built-in defaults (`DEFAULT_RULES`). */
  fallback?: 'deny' | 'builtin';
  /** Identity → roles. */
  roles?: Record<string, string[]>;
  /** Named approval rules; `default` applies where a rule names none. */
  approvals?: Record<string, ApprovalRule>;
  /** Nothing that touches data above this class is allowed. */
  dataCeiling?: DataClass;
  /** A task's own narrowing: its rules can only make a decision stricter, never looser. */
  narrowing?: { rules: PolicyRule[] };
}

export interface PolicyVerdict {
  decision: Decision;
  ruleIds: string[];
  reason: string;
  /** With `approve` under a policy file: the approval rule that applies. */
  approval?: string;
}

/** Who and what an action is about, for rules that match on more than the tool. */
export interface ActionContext {
  agent?: string;
  principal?: string;
  input?: unknown;
}

/**
 * An argument condition as a policy file (or a start request's narrowing) writes it: a comparison
 * such as `"> 100"`, a number or boolean (equality), or `{ glob }`, `{ host }`, `{ equals }`.
 */
export type ArgMatcher =
  string | number | boolean | { glob: string } | { host: string } | { equals: string | number | boolean };

/** A rule as written, before its argument conditions are parsed. */
export interface PolicyRuleInput extends Omit<PolicyRule, 'args'> {
  args?: Record<string, ArgMatcher>;
}

/** What a start request may add to its agent's policy: stricter rules and a lower data ceiling. */
export interface PolicyNarrowing {
  rules?: PolicyRuleInput[];
  dataCeiling?: DataClass;
}
