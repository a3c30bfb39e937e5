import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError, describeIssues } from './errors';

/**
 * A policy file: one reviewed YAML file that says what each agent may do, on whose behalf, and who
 * must look first. Checked here, field by field (an error names the file, the path and what was
 * expected); turned into the plain-data policy a task runs under by policies/taskPolicy.ts.
 */

const DAY_SECONDS = 86_400;
const name = z.string().trim().min(1).max(200);
const dataClass = z.enum(['public', 'internal', 'confidential']);
const effect = z.enum(['read', 'write', 'spend', 'irreversible']);
const trust = z.enum(['local', 'private', 'public']);
const seconds = () =>
  z
    .number()
    .positive()
    .max(30 * DAY_SECONDS);
const count = (min: number, max: number) => z.number().int().min(min).max(max);
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(1000);

const COMPARISON = /^\s*(>=|<=|==|!=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;
/** A top-level argument, or a dotted path into nested objects (`recipient.country`). */
const ARG_PATH = /^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/;
const HOST = /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$/;

const MATCHER_FORMS =
  'expected a comparison such as "> 100" (in quotes: YAML reads a bare > as folded text), ' +
  'a number or true/false, or one of { glob: "notes/**" }, { host: "api.example.com" }, { equals: … }';

type Matcher =
  | { glob: string }
  | { host: string }
  | { compare: '>' | '>=' | '<' | '<=' | '==' | '!='; value: number }
  | { equals: string | number | boolean };

const matcher = z.unknown().transform((raw, ctx): Matcher => {
  const fail = (message: string): never => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (typeof raw === 'number' && Number.isFinite(raw)) return { equals: raw };
  if (typeof raw === 'boolean') return { equals: raw };
  if (typeof raw === 'string') {
    const m = COMPARISON.exec(raw);
    if (!m) return fail(`${MATCHER_FORMS}; got "${raw.slice(0, 60)}"`);
    return { compare: m[1] as '>', value: Number(m[2]) };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(MATCHER_FORMS);
  const keys = Object.keys(raw);
  const value = (raw as Record<string, unknown>)[keys[0]!];
  if (keys.length !== 1 || !['glob', 'host', 'equals'].includes(keys[0]!))
    return fail(`${MATCHER_FORMS}; got the keys ${keys.join(', ') || '(none)'}`);
  if (keys[0] === 'equals') {
    if (typeof value === 'string' || typeof value === 'boolean') return { equals: value };
    if (typeof value === 'number' && Number.isFinite(value)) return { equals: value };
    return fail('equals: expected a string, a number or true/false');
  }
  if (typeof value !== 'string' || value.trim() === '') return fail(`${keys[0]}: expected text`);
  if (keys[0] === 'host') {
    if (!HOST.test(value)) return fail(`host: expected a host name such as api.example.com or *.example.com`);
    return { host: value };
  }
  return { glob: value };
});

export const policyRuleSchema = z
  .object({
    id: name.regex(
      /^(?!(builtin|default|narrow)\/)/,
      'ids beginning builtin/, default/ or narrow/ are reserved',
    ),
    decision: z.enum(['allow', 'deny', 'approve']),
    agents: list(name).optional(),
    principals: list(name).optional(),
    roles: list(name).optional(),
    tools: list(name).optional(),
    effects: list(effect).optional(),
    dataClasses: list(dataClass).optional(),
    args: z
      .record(
        z.string().regex(ARG_PATH, 'expected an argument name or a dotted path such as recipient.country'),
        matcher,
      )
      .optional(),
    approval: name.optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.approval !== undefined && rule.decision !== 'approve')
      ctx.addIssue({
        code: 'custom',
        path: ['approval'],
        message: 'only a rule that decides approve names an approval',
      });
  })
  .transform(({ args, ...rule }) => {
    const conditions = Object.entries(args ?? {}).map(([arg, m]) => ({ arg, ...m }));
    return conditions.length > 0 ? { ...rule, args: conditions } : rule;
  });

const levelFields = {
  identities: list(name).optional(),
  roles: list(name).optional(),
  quorum: count(1, 1000).default(1),
  timeoutSeconds: seconds().default(3600),
};
const levelSchema = z.object(levelFields).strict();
const approvalSchema = z
  .object({
    ...levelFields,
    allowSelfApproval: z.boolean().default(false),
    editable: z
      .array(z.string().regex(/^[A-Za-z_$][\w$-]*$/, 'expected a top-level argument name'))
      .max(100)
      .default([]),
    escalation: z.array(levelSchema).max(10).default([]),
  })
  .strict();

type Level = z.output<typeof levelSchema>;

export const policyDocumentSchema = z
  .object({
    /** The format's version; there is one so far. */
    version: z.literal(1).default(1),
    /** What an action no rule lists gets: `deny`, or the built-in defaults (reads allowed, the rest approved). */
    default: z.enum(['deny', 'builtin']).default('deny'),
    /** identity → its roles */
    roles: z.record(name, list(name)).default({}),
    dataCeiling: dataClass.optional(),
    dataBoundaries: z
      .object({ public: z.array(trust), internal: z.array(trust), confidential: z.array(trust) })
      .strict()
      .optional(),
    rules: z.array(policyRuleSchema).max(10_000).default([]),
    approvals: z.record(name, approvalSchema).default({}),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const given = new Set(Object.values(doc.roles).flat());
    const approvalNames = Object.keys(doc.approvals);
    const seen = new Set<string>();
    doc.rules.forEach((rule, i) => {
      if (seen.has(rule.id)) issue(['rules', i, 'id'], `rule id ${rule.id} is listed twice`);
      seen.add(rule.id);
      for (const role of rule.roles ?? [])
        if (!given.has(role)) issue(['rules', i, 'roles'], `role ${role} is given to nobody under roles`);
      if (rule.decision !== 'approve') return;
      const wanted = rule.approval ?? 'default';
      if (!Object.prototype.hasOwnProperty.call(doc.approvals, wanted)) {
        issue(
          rule.approval ? ['rules', i, 'approval'] : ['rules', i],
          rule.approval
            ? `approval ${wanted} is not under approvals (defined: ${approvalNames.join(', ') || 'none'})`
            : 'decides approve but names no approval, and there is no approvals.default',
        );
      }
    });
    if (doc.default === 'builtin' && !Object.prototype.hasOwnProperty.call(doc.approvals, 'default'))
      issue(['default'], 'builtin defaults ask for approval of writes: define approvals.default');
    const checkLevel = (level: Level, path: (string | number)[]) => {
      if (!level.identities && !level.roles) {
        issue(path, 'names no approvers: give identities or roles');
        return;
      }
      for (const role of level.roles ?? [])
        if (!given.has(role)) issue([...path, 'roles'], `role ${role} is given to nobody under roles`);
      const approvers = new Set(level.identities ?? []);
      for (const [identity, roles] of Object.entries(doc.roles))
        if (level.roles?.some((r) => roles.includes(r))) approvers.add(identity);
      if (level.quorum > approvers.size)
        issue(
          [...path, 'quorum'],
          `quorum ${level.quorum} can never be met by the ${approvers.size} approvers (${[...approvers].join(', ')})`,
        );
    };
    for (const [key, approval] of Object.entries(doc.approvals)) {
      checkLevel(approval, ['approvals', key]);
      approval.escalation.forEach((level, i) => checkLevel(level, ['approvals', key, 'escalation', i]));
    }
  });

export type PolicyDocument = z.output<typeof policyDocumentSchema>;

/**
 * What a start request may add to its agent's policy: rules (which can only make a decision stricter)
 * and a lower data ceiling. Checked against the policy when the task starts.
 */
export const policyNarrowingSchema = z
  .object({
    rules: z
      .array(policyRuleSchema)
      .max(1000)
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules.forEach((rule, i) => {
          if (seen.has(rule.id))
            ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `rule id ${rule.id} is listed twice` });
          seen.add(rule.id);
        });
      })
      .optional(),
    dataCeiling: dataClass.optional(),
  })
  .strict();

export type PolicyNarrowingInput = z.input<typeof policyNarrowingSchema>;

export interface PolicyFile {
  path: string;
  /** sha256 of the file's bytes, as `sha256sum` prints it. */
  sha256: string;
  document: PolicyDocument;
}

/** Parses a policy file's text; `source` names it in errors. */
export function parsePolicyDocument(text: string, source: string): PolicyDocument {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(`policy file ${source} is not valid YAML: ${(err as Error).message}`);
  }
  const parsed = policyDocumentSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, `policy file ${source}`));
  return parsed.data;
}

const cache = new Map<string, PolicyFile>();

/**
 * Reads and checks a policy file. A worker reads it again for every task it starts, so an edit
 * applies to the next task and never to one already running (whose policy is in its history).
 */
export function readPolicyFile(path: string): PolicyFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `policy file ${path} does not exist`
        : `policy file ${path} cannot be read (${code})`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const cached = cache.get(path);
  if (cached?.sha256 === sha256) return cached;
  const file = { path, sha256, document: parsePolicyDocument(bytes.toString('utf8'), path) };
  cache.set(path, file);
  return file;
}

/** Sample actions for `steward policy check --actions`: what each would get under a policy. */
export const policySamplesSchema = z
  .array(
    z
      .object({
        tool: name,
        args: z.record(z.string(), z.unknown()).default({}),
        agent: name.optional(),
        principal: name.optional(),
        /** The tool's effect and data class, for a tool this install does not know. */
        effect: effect.optional(),
        dataClass: dataClass.optional(),
        /** The class of data the task has already seen (default public). */
        seen: dataClass.optional(),
        /** The decision the sample should get: \`policy check\` fails when it gets another. */
        expect: z.enum(['allow', 'deny', 'approve']).optional(),
      })
      .strict(),
  )
  .min(1)
  .max(10_000);

export type PolicySample = z.output<typeof policySamplesSchema>[number];

export function readPolicySamples(path: string): PolicySample[] {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`sample actions ${path} cannot be read: ${(err as Error).message}`);
  }
  const parsed = policySamplesSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, `sample actions ${path}`));
  return parsed.data;
}
