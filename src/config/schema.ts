import { z } from 'zod';
import { agentEntrySchema } from './agentSchema';
import { mcpServersSchema, providerKeysStayWithProviders } from './mcpSchema';
import { apiSchema } from './apiSchema';
import { telemetrySchema } from './telemetrySchema';

const trust = z.enum(['local', 'private', 'public']);
const dataClass = z.enum(['public', 'internal', 'confidential']);
const effect = z.enum(['read', 'write', 'spend', 'irreversible']);

// Upper bounds keep every number usable downstream (dates, sums, loops): `deadlineSeconds: 1e13`
// once made the workflow's state query throw "Invalid time value". zod 4 numbers are finite.
const DAY_SECONDS = 86_400;
const MAX_SECONDS = 30 * DAY_SECONDS;
const MAX_MS = 3_600_000; // one hour for one model call
const MAX_USD = 1_000_000;
const MAX_PRICE_PER_MTOK = 10_000;
const seconds = () => z.number().positive().max(MAX_SECONDS);
const count = (min: number, max: number) => z.number().int().min(min).max(max);
const name = z.string().min(1);

/** An http(s) URL. */
const httpUrl = () => z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/**
 * An allowlist entry is an origin plus a path prefix: credentials, a query or a fragment would be
 * ignored by the check, so they are refused rather than silently meaning something else. The entry
 * itself is not echoed (it may carry a password).
 */
const allowlistEntry = z.string().superRefine((entry, ctx) => {
  const url = URL.canParse(entry) ? new URL(entry) : undefined;
  const problem =
    !url || !/^https?:$/.test(url.protocol)
      ? 'expected an http(s) URL'
      : url.username || url.password
        ? 'an allowlist entry must not carry credentials'
        : /[?#]/.test(entry)
          ? 'an allowlist entry must not have a query or a fragment'
          : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Refuses a list in which two entries share a key; the issue names the later entry's path. */
function unique<T>(what: string, key: (entry: T) => string, field?: string) {
  return (entries: T[], ctx: z.RefinementCtx<T[]>) => {
    const seen = new Set<string>();
    entries.forEach((entry, i) => {
      const k = key(entry);
      if (seen.has(k)) {
        ctx.addIssue({
          code: 'custom',
          path: field ? [i, field] : [i],
          message: `${what} ${k} is listed twice`,
        });
      }
      seen.add(k);
    });
  };
}
const same = (s: string) => s;

export const providerConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('openai-compatible'),
      baseURL: httpUrl(),
      /** Name of the environment variable that holds the key (keys never live in the file). */
      apiKeyEnv: z.string().optional(),
      timeoutMs: count(1, MAX_MS).optional(),
      toolChoice: z.enum(['auto', 'required']).optional(),
      maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('embedded'),
      /** A GGUF file to use instead of the pinned default model. */
      modelPath: z.string().optional(),
      threads: count(1, 1024).optional(),
      contextSize: count(1, 10_000_000).optional(),
    })
    .strict(),
]);

export const modelRouteSchema = z
  .object({
    id: z.string().min(1),
    provider: z.string().min(1),
    model: z.string().min(1),
    trust: trust.default('public'),
    price: z
      .object({
        inputPerMTok: z.number().min(0).max(MAX_PRICE_PER_MTOK),
        outputPerMTok: z.number().min(0).max(MAX_PRICE_PER_MTOK),
      })
      .strict()
      // no default: a model whose price is unknown is never treated as free (it is not routed to)
      .optional(),
    latencyMs: z.number().positive().max(MAX_MS).optional(),
    /** Size in billions of parameters, so agents can say which model they need. */
    parametersB: z.number().positive().max(1_000_000).optional(),
  })
  .strict();

/** The bounds of each limit, once: the config's limits and a task's narrowing both use them. */
const limitBounds = {
  maxSteps: count(1, 10_000),
  budgetUsd: z.number().min(0).max(MAX_USD),
  deadlineSeconds: seconds(),
  maxInvalidOutputs: count(0, 10_000),
  maxDenials: count(0, 10_000),
  maxOutputTokens: count(1, 1_000_000),
  stepsPerRun: count(1, 10_000),
};

export const limitsSchema = z
  .object({
    maxSteps: limitBounds.maxSteps.default(20),
    budgetUsd: limitBounds.budgetUsd.default(1),
    deadlineSeconds: limitBounds.deadlineSeconds.default(3600),
    maxInvalidOutputs: limitBounds.maxInvalidOutputs.default(3),
    maxDenials: limitBounds.maxDenials.default(3),
    maxOutputTokens: limitBounds.maxOutputTokens.default(256),
    stepsPerRun: limitBounds.stepsPerRun.optional(),
  })
  .strict();

/**
 * A task's requested narrowing of the limits: any subset, same bounds, no defaults (a default here
 * would narrow what the request never mentioned).
 */
export const limitsNarrowingSchema = z.object(limitBounds).partial().strict();

export const policySchema = z
  .object({
    rules: z
      .array(
        z
          .object({
            id: name,
            tools: z.array(z.string()).optional(),
            effects: z.array(effect).optional(),
            dataClasses: z.array(dataClass).optional(),
            decision: z.enum(['allow', 'deny', 'approve']),
            reason: z.string().optional(),
          })
          .strict(),
      )
      .superRefine(unique('rule id', (rule) => rule.id, 'id'))
      .default([]),
    approval: z
      .object({
        approvers: z.array(name).min(1).superRefine(unique('approver', same)).optional(),
        quorum: count(1, 1000).default(1),
        timeoutSeconds: seconds().default(3600),
        onExpiry: z.enum(['stop', 'escalate']).default('stop'),
        escalateTo: z.array(name).superRefine(unique('escalateTo entry', same)).optional(),
        escalationTimeoutSeconds: seconds().optional(),
      })
      .strict()
      .superRefine((approval, ctx) => {
        // The quorum applies to every list a request may go to: the approvers (or, without them,
        // the task's principal alone), and after an escalation, escalateTo.
        const quorum = approval.quorum;
        const problem = (message: string) => ctx.addIssue({ code: 'custom', path: ['quorum'], message });
        if (approval.approvers && quorum > approval.approvers.length)
          problem(`quorum ${quorum} can never be met by ${approval.approvers.length} approvers`);
        if (!approval.approvers && quorum > 1)
          problem(`quorum ${quorum} can never be met by the default approver (the task's principal)`);
        if (approval.escalateTo && quorum > approval.escalateTo.length)
          problem(
            `quorum ${quorum} can never be met by the ${approval.escalateTo.length} approvers in escalateTo`,
          );
        if (approval.onExpiry === 'escalate' && !approval.escalateTo?.length) {
          ctx.addIssue({
            code: 'custom',
            path: ['escalateTo'],
            message: 'onExpiry: escalate needs escalateTo',
          });
        }
      })
      .prefault({}),
    dataBoundaries: z
      .object({ public: z.array(trust), internal: z.array(trust), confidential: z.array(trust) })
      .strict()
      .optional(),
    /**
     * A policy file (README: Policies), relative to this file: it then holds the whole policy, read
     * again for each task a worker starts.
     */
    file: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.file && (policy.rules.length > 0 || policy.approval.approvers || policy.dataBoundaries)) {
      ctx.addIssue({
        code: 'custom',
        path: ['file'],
        message: 'a policy file holds the whole policy: move rules, approval and dataBoundaries into it',
      });
    }
  });

/** A daily cap shared by every task of one principal (or one agent); an absent field is not capped. */
const dailyCapSchema = z
  .object({
    dailyUsd: z.number().min(0).max(1_000_000).optional(),
    dailyTokens: z.number().int().min(0).max(1e12).optional(),
  })
  .strict();

export const budgetsSchema = z
  .object({ principal: dailyCapSchema.optional(), agent: dailyCapSchema.optional() })
  .strict();

export const configSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().optional(),
        namespace: z.string().default('default'),
        taskQueue: z.string().default('steward'),
      })
      .strict()
      .prefault({}),
    /** Where Steward keeps models, blobs and the dev server's database. */
    dataDir: z.string().default('.steward'),
    providers: z.record(z.string(), providerConfigSchema).default({}),
    /** Model routes; empty means the embedded model. */
    models: z
      .array(modelRouteSchema)
      .superRefine(unique('model route id', (route) => route.id, 'id'))
      .default([]),
    computeNodes: z
      .array(
        z
          .object({
            id: name,
            taskQueue: name,
            trust: trust.default('local'),
            pricePerJobUsd: z.number().min(0).max(MAX_USD).optional(),
            pickupTimeoutSeconds: z.number().positive().max(DAY_SECONDS).optional(),
          })
          .strict(),
      )
      .superRefine(unique('compute node id', (node) => node.id, 'id'))
      .superRefine(unique('compute node task queue', (node) => node.taskQueue, 'taskQueue'))
      .default([{ id: 'local', taskQueue: 'steward-node-local', trust: 'local' }]),
    // prefault: an absent section is parsed as {}, so each field's own default applies (written once)
    policy: policySchema.prefault({}),
    limits: limitsSchema.prefault({}),
    /** Spend caps that hold across tasks (the ledgers); per task, see `limits.budgetUsd`. */
    budgets: budgetsSchema.optional(),
    /** Agents declared here (README: Agents and tools); checked like built-in agents. */
    agents: z.array(agentEntrySchema(limitsNarrowingSchema)).max(200).default([]),
    /** YAML files of agents, relative to this file (`agents/*.yaml`): each holds one agent or a list. */
    agentFiles: z.array(z.string().min(1)).max(100).default([]),
    /** MCP servers whose tools the worker offers as `<server>__<tool>`. */
    mcpServers: mcpServersSchema,
    /** The HTTP API and review lane (`steward serve`, `steward dev`): address, identities, limits. */
    api: apiSchema.prefault({}),
    /**
     * Keys whose signed decisions (approve, reject, cancel) this worker accepts, besides this install's
     * own: the front door's (`signsFor: ['*']`, it authenticates callers) or an approver's own.
     */
    signing: z
      .object({
        trustedKeys: z
          .array(
            z
              .object({
                id: z.string().min(1).max(100),
                publicKey: z.string().regex(/^[0-9a-f]{64}$/, 'an Ed25519 public key in hex (64 digits)'),
                signsFor: z.array(z.string().min(1).max(200)).min(1).max(1000),
              })
              .strict(),
          )
          .max(100)
          .default([]),
        /**
         * Keys whose signed audit heads `steward audit verify` accepts, besides this install's own (the
         * workers of a cluster that each have their own data directory, or an auditor's copy).
         */
        auditKeys: z
          .array(
            z
              .object({
                id: z.string().min(1).max(100),
                publicKey: z.string().regex(/^[0-9a-f]{64}$/, 'an Ed25519 public key in hex (64 digits)'),
              })
              .strict(),
          )
          .max(100)
          .default([]),
      })
      .strict()
      .prefault({}),
    preference: z.enum(['cost', 'latency', 'privacy']).default('cost'),
    tools: z
      .object({
        // a directory of its own: `.` would hold Steward's data directory (.steward) too
        workspace: z.string().default('workspace'),
        httpAllowlist: z.array(allowlistEntry).default([]),
      })
      .strict()
      .prefault({}),
    /** Where claim checks live: a local directory (default), or PostgreSQL that every machine reaches. */
    stores: z
      .object({
        blobs: z
          .discriminatedUnion('kind', [
            z.object({ kind: z.literal('local') }).strict(),
            z
              .object({
                kind: z.literal('postgres'),
                /** The environment variable holding its URL (it carries a password: never in the file). */
                urlEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
                table: z
                  .string()
                  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a plain table name')
                  .optional(),
              })
              .strict(),
          ])
          .default({ kind: 'local' }),
        /** Where audit trails are written as tasks run: files in the data directory, PostgreSQL, or nowhere. */
        audit: z
          .discriminatedUnion('kind', [
            z.object({ kind: z.literal('local') }).strict(),
            z.object({ kind: z.literal('none') }).strict(),
            z
              .object({
                kind: z.literal('postgres'),
                urlEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
                table: z
                  .string()
                  .regex(
                    /^[a-z_][a-z0-9_]{0,50}$/,
                    'a plain table name (two tables get its name as a prefix)',
                  )
                  .optional(),
              })
              .strict(),
          ])
          .default({ kind: 'local' }),
      })
      .strict()
      .prefault({}),
    /** OpenTelemetry traces over OTLP/HTTP (README: Traces): off unless an endpoint is set. */
    telemetry: telemetrySchema.prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => providerKeysStayWithProviders(config, ctx));

export type StewardConfigInput = z.input<typeof configSchema>;
export type StewardConfig = z.output<typeof configSchema>;
export type ProviderConfig = z.output<typeof providerConfigSchema>;
