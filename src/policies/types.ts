import type { DataClass, ToolEffect, TrustTier } from '../shared/types';

export type Decision = 'allow' | 'deny' | 'approve';

/** A rule matches an action when every field it sets matches; the first matching rule decides. */
export interface PolicyRule {
  id: string;
  tools?: string[];
  effects?: ToolEffect[];
  dataClasses?: DataClass[];
  decision: Decision;
  reason?: string;
}

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

export interface Policy {
  rules: PolicyRule[];
  approval: ApprovalPolicy;
  /** Which trust tiers may see data of each class (models and compute nodes alike). */
  dataBoundaries: Record<DataClass, TrustTier[]>;
}

export interface PolicyVerdict {
  decision: Decision;
  ruleIds: string[];
  reason: string;
}
