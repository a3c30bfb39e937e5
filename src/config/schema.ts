import { z } from 'zod';

const trust = z.enum(['local', 'private', 'public']);
const dataClass = z.enum(['public', 'internal', 'confidential']);
const effect = z.enum(['read', 'write', 'spend', 'irreversible']);

export const providerConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('openai-compatible'),
      baseURL: z.string().url(),
      /** Name of the environment variable that holds the key (keys never live in the file). */
      apiKeyEnv: z.string().optional(),
      timeoutMs: z.number().int().positive().optional(),
      toolChoice: z.enum(['auto', 'required']).optional(),
      maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('embedded'),
      /** A GGUF file to use instead of the pinned default model. */
      modelPath: z.string().optional(),
      threads: z.number().int().positive().optional(),
      contextSize: z.number().int().positive().optional(),
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
      .object({ inputPerMTok: z.number().min(0), outputPerMTok: z.number().min(0) })
      .strict()
      .default({ inputPerMTok: 0, outputPerMTok: 0 }),
    latencyMs: z.number().positive().optional(),
    /** Size in billions of parameters, so agents can say which model they need. */
    parametersB: z.number().positive().optional(),
  })
  .strict();

export const limitsSchema = z
  .object({
    maxSteps: z.number().int().positive().default(20),
    budgetUsd: z.number().min(0).default(1),
    deadlineSeconds: z.number().positive().default(3600),
    maxInvalidOutputs: z.number().int().min(0).default(3),
    maxDenials: z.number().int().min(0).default(3),
    maxOutputTokens: z.number().int().positive().default(256),
    stepsPerRun: z.number().int().positive().optional(),
  })
  .strict();

export const policySchema = z
  .object({
    rules: z
      .array(
        z
          .object({
            id: z.string().min(1),
            tools: z.array(z.string()).optional(),
            effects: z.array(effect).optional(),
            dataClasses: z.array(dataClass).optional(),
            decision: z.enum(['allow', 'deny', 'approve']),
            reason: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    approval: z
      .object({
        approvers: z.array(z.string().min(1)).min(1).optional(),
        quorum: z.number().int().positive().default(1),
        timeoutSeconds: z.number().positive().default(3600),
        onExpiry: z.enum(['stop', 'escalate']).default('stop'),
        escalateTo: z.array(z.string().min(1)).optional(),
        escalationTimeoutSeconds: z.number().positive().optional(),
      })
      .strict()
      .superRefine((approval, ctx) => {
        if (approval.approvers && approval.quorum > approval.approvers.length) {
          ctx.addIssue({
            code: 'custom',
            path: ['quorum'],
            message: `quorum ${approval.quorum} can never be met by ${approval.approvers.length} approvers`,
          });
        }
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
  })
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
    models: z.array(modelRouteSchema).default([]),
    computeNodes: z
      .array(
        z
          .object({
            id: z.string().min(1),
            taskQueue: z.string().min(1),
            trust: trust.default('local'),
            pricePerJobUsd: z.number().min(0).optional(),
            pickupTimeoutSeconds: z.number().positive().optional(),
          })
          .strict(),
      )
      .default([{ id: 'local', taskQueue: 'steward-node-local', trust: 'local' }]),
    // prefault: an absent section is parsed as {}, so each field's own default applies (written once)
    policy: policySchema.prefault({}),
    limits: limitsSchema.prefault({}),
    preference: z.enum(['cost', 'latency', 'privacy']).default('cost'),
    tools: z
      .object({ workspace: z.string().default('.'), httpAllowlist: z.array(z.string()).default([]) })
      .strict()
      .prefault({}),
  })
  .strict();

export type StewardConfigInput = z.input<typeof configSchema>;
export type StewardConfig = z.output<typeof configSchema>;
export type ProviderConfig = z.output<typeof providerConfigSchema>;
