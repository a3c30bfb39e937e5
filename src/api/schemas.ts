/**
 * The front door's requests and answers, once: the handlers parse with these and /openapi.json is
 * generated from them, so the document cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { policyNarrowingSchema } from '../config/policyFile';
import { limitsNarrowingSchema } from '../config/schema';
import { MAX_NESTING, nestsDeeperThan } from '../shared/depth';
import { ERROR_CODES, type ErrorCode } from './errors';

/** Printable, no quotes or backslashes: these values go into visibility queries. */
const queryValue = (what: string) =>
  z
    .string()
    .min(1)
    .max(200)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f'"\\]+$/, `${what} must be printable text without quotes or backslashes`);

/**
 * Any JSON value nested at most MAX_NESTING levels: refused here, at the front door, so a hostile
 * value 100,000 levels deep never reaches a recursive walk (the blob store, payload conversion).
 */
const boundedValue = () =>
  z.unknown().refine((value) => !nestsDeeperThan(value, MAX_NESTING), {
    message: `nested deeper than ${MAX_NESTING} levels of arrays and objects (the limit is ${MAX_NESTING})`,
  });

export const taskIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'a task id is letters, digits and . _ : @ -');

export const taskParamsSchema = z.object({ taskId: taskIdSchema }).strict();

export const TASK_STATUSES = ['running', 'awaiting_approval', 'completed', 'stopped'] as const;

/** A page is at most this long; the next one is asked for with the `nextPageToken` of this one. */
export const MAX_PAGE_SIZE = 200;
const pageToken = z
  .string()
  .max(4096)
  .regex(/^[A-Za-z0-9_-]*$/, 'pageToken must be the nextPageToken of an earlier answer');
const pageSize = z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50);

export const listTasksQuerySchema = z
  .object({
    status: z.enum(TASK_STATUSES).optional(),
    agent: queryValue('agent').optional(),
    principal: queryValue('principal').optional(),
    pageSize,
    pageToken: pageToken.optional(),
  })
  .strict();

export const listApprovalsQuerySchema = z.object({ pageSize, pageToken: pageToken.optional() }).strict();

export const startTaskBodySchema = z
  .object({
    agent: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'agent must be an agent name'),
    input: boundedValue().optional(),
    /**
     * On whose behalf: the caller's own identity when absent. Naming someone else needs the admin role.
     */
    principal: queryValue('principal').optional(),
    taskId: taskIdSchema.optional(),
    description: z.string().max(2000).optional(),
    narrow: z
      .object({
        limits: limitsNarrowingSchema.optional(),
        tools: z.array(z.string().min(1).max(200)).max(200).optional(),
        policy: policyNarrowingSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The decider is the caller (from the token): a body naming an identity is refused. */
export const decisionBodySchema = z
  .object({
    decision: z.enum(['approve', 'reject']),
    /** The pending request and the digest of the action the caller saw: a changed action does not match. */
    approvalId: z.string().min(1).max(100),
    digest: z.string().regex(/^[0-9a-f]{64}$/, 'digest must be the sha256 (hex) of the pending action'),
    reason: z.string().max(2000).optional(),
    /** New values for arguments the approval rule makes editable (an approval only). */
    edits: z.record(z.string().min(1).max(200), boundedValue()).optional(),
  })
  .strict();

export const cancelBodySchema = z
  .object({ reason: z.string().max(2000).optional() })
  .strict()
  .default({});

// ---- answers ------------------------------------------------------------------------------------

export const errorSchema = z.object({
  error: z.object({
    // from the one list, so a new code cannot be missing here
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
  }),
});

export const taskSummarySchema = z.object({
  taskId: z.string(),
  agent: z.string().optional(),
  principal: z.string().optional(),
  status: z.string(),
  step: z.number().optional(),
  spendUsd: z.number().optional(),
  startTime: z.string(),
  closeTime: z.string().optional(),
});

export const taskPageSchema = z.object({
  tasks: z.array(taskSummarySchema),
  nextPageToken: z.string().optional(),
});

const actionSchema = z.object({ tool: z.string(), input: z.unknown() });

export const approvalRequestSchema = z
  .object({
    id: z.string(),
    /** The run that asked: a decision is signed for this run (audit/signing.ts). */
    runId: z.string(),
    step: z.number(),
    digest: z.string(),
    action: actionSchema,
    approvers: z.array(z.string()),
    quorum: z.number(),
    requestedAt: z.string(),
    deadline: z.string(),
    ruleIds: z.array(z.string()),
    decisions: z.array(z.object({ identity: z.string(), decision: z.string(), at: z.string() }).loose()),
  })
  .loose();

export const taskStateSchema = z
  .object({
    taskId: z.string(),
    agent: z.string(),
    principal: z.string(),
    status: z.enum(TASK_STATUSES),
    step: z.number(),
    spendUsd: z.number(),
    budgetUsd: z.number(),
    dataClass: z.string(),
    pendingApproval: approvalRequestSchema.optional(),
    lastError: z.string().optional(),
    stopReason: z.string().optional(),
    stopDetail: z.string().optional(),
    result: z.unknown().optional(),
    startedAt: z.string(),
    deadline: z.string(),
    audit: z.object({ entries: z.number(), head: z.string() }),
    temporalUiUrl: z.string().optional(),
  })
  .loose();

export const pendingApprovalSchema = z.object({
  taskId: z.string(),
  agent: z.string(),
  principal: z.string(),
  dataClass: z.string(),
  spendUsd: z.number(),
  budgetUsd: z.number(),
  /** The pending request, with blob-stored arguments resolved to their full content. */
  request: approvalRequestSchema,
  /** False when the caller may reject but not approve (the task's own principal, without self-approval). */
  mayApprove: z.boolean(),
});

export const approvalPageSchema = z.object({
  approvals: z.array(pendingApprovalSchema),
  nextPageToken: z.string().optional(),
});

export const decisionAnswerSchema = z.object({
  approvalId: z.string(),
  outcome: z.enum(['approved', 'rejected', 'pending']),
  identity: z.string(),
});

export const startAnswerSchema = z.object({
  taskId: z.string(),
  runId: z.string(),
  principal: z.string(),
  temporalUiUrl: z.string().optional(),
});

/** An entry of schema steward.audit/1 (docs/audit.md); older entries lack `v` and `taskId`. */
export const auditEntrySchema = z.object({
  v: z.literal(1).optional(),
  taskId: z.string().optional(),
  seq: z.number(),
  kind: z.string(),
  at: z.string(),
  step: z.number(),
  actor: z
    .object({
      agent: z.string().optional(),
      principal: z.string().optional(),
      approver: z.string().optional(),
      keyId: z.string().optional(),
    })
    .loose()
    .optional(),
  action: z
    .object({ type: z.enum(['tool', 'model', 'job', 'ledger']) })
    .loose()
    .optional(),
  decision: z
    .object({
      effect: z.enum(['allow', 'deny', 'approve']),
      ruleIds: z.array(z.string()),
      policyHash: z.string().optional(),
    })
    .loose()
    .optional(),
  route: z.record(z.string(), z.unknown()).optional(),
  dataRef: z
    .object({
      classes: z.array(z.string()).optional(),
      inputBlobs: z.array(z.string()).optional(),
      outputBlobs: z.array(z.string()).optional(),
    })
    .loose()
    .optional(),
  outcome: z
    .union([
      z.object({ ok: z.literal(true), resultDigest: z.string().optional() }).loose(),
      z.object({ ok: z.literal(false), errorType: z.string(), message: z.string() }).loose(),
    ])
    .optional(),
  usage: z.record(z.string(), z.number()).optional(),
  cost: z.object({ usd: z.number(), basis: z.enum(['billed', 'estimated', 'reserved']) }).optional(),
  data: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

export const verificationSchema = z.union([
  z.object({
    ok: z.literal(true),
    head: z.string(),
    entries: z.number(),
    /** The trail runs to the task's end (absent: no signed head was checked). */
    complete: z.boolean().optional(),
    /** The last signed head, by a key this install trusts (absent: the task writes no audit store). */
    signed: z.object({ seq: z.number(), keyId: z.string(), fingerprint: z.string() }).optional(),
  }),
  z.object({ ok: z.literal(false), seq: z.number(), reason: z.string(), entries: z.number() }),
]);

export const auditAnswerSchema = z.object({
  entries: z.array(auditEntrySchema),
  verification: verificationSchema,
});

export const meSchema = z.object({
  identity: z.string(),
  roles: z.array(z.string()),
  via: z.enum(['token', 'oidc', 'dev']),
});
