/**
 * /openapi.json, built from the same zod schemas the handlers parse with (zod 4's own JSON Schema
 * output, JSON Schema 2020-12 in OpenAPI 3.1), so the document and the server cannot disagree.
 */
import { z } from 'zod';
import * as s from './schemas';

interface Operation {
  method: 'get' | 'post';
  path: string;
  summary: string;
  role: string;
  params?: boolean;
  query?: z.ZodObject;
  body?: z.ZodType;
  answer: z.ZodType;
  status?: number;
  /** The errors this route can answer besides 401, 429 and 500, which every route can. */
  errors: ErrorStatus[];
}

type ErrorStatus = 400 | 403 | 404 | 409 | 413 | 415 | 503;

/** A route about one task: it may not exist (404), or have ended or refused (409). */
const TASK = [400, 403, 404, 409, 503] as ErrorStatus[];
const BODY = [413, 415] as ErrorStatus[];

/** Every route of the JSON API, as the server registers it. */
export const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/v1/me',
    summary: 'Who the token is for',
    role: 'any',
    answer: s.meSchema,
    errors: [],
  },
  {
    method: 'post',
    path: '/v1/tasks',
    summary: 'Start a task (on your own behalf; another principal needs admin)',
    role: 'operator',
    body: s.startTaskBodySchema,
    answer: s.startAnswerSchema,
    status: 201,
    errors: [400, 403, 409, ...BODY, 503],
  },
  {
    method: 'get',
    path: '/v1/tasks',
    summary: 'List tasks, newest first, filtered on the Steward search attributes',
    role: 'viewer',
    query: s.listTasksQuerySchema,
    answer: s.taskPageSchema,
    errors: [400, 403, 503],
  },
  {
    method: 'get',
    path: '/v1/tasks/{taskId}',
    summary: "A task's state, blob-stored arguments and result resolved",
    role: 'viewer',
    params: true,
    answer: s.taskStateSchema,
    errors: TASK,
  },
  {
    method: 'post',
    path: '/v1/tasks/{taskId}/decision',
    summary: 'Approve or reject the pending action, as the token’s identity',
    role: 'approver',
    params: true,
    body: s.decisionBodySchema,
    answer: s.decisionAnswerSchema,
    errors: [...TASK, ...BODY],
  },
  {
    method: 'post',
    path: '/v1/tasks/{taskId}/cancel',
    summary: 'Stop a task cleanly (cancelled)',
    role: 'operator',
    params: true,
    body: s.cancelBodySchema,
    answer: z.object({ taskId: z.string(), cancelled: z.literal(true) }),
    status: 202,
    errors: [...TASK, ...BODY],
  },
  {
    method: 'get',
    path: '/v1/tasks/{taskId}/audit',
    summary: "A task's audit trail and whether its hash chain verifies",
    role: 'viewer',
    params: true,
    answer: s.auditAnswerSchema,
    errors: TASK,
  },
  {
    method: 'get',
    path: '/v1/tasks/{taskId}/audit/verify',
    summary: "Verifies a task's audit trail (the hash chain)",
    role: 'viewer',
    params: true,
    answer: s.verificationSchema,
    errors: TASK,
  },
  {
    method: 'get',
    path: '/v1/approvals',
    summary: 'The approvals waiting for you',
    role: 'approver',
    query: s.listApprovalsQuerySchema,
    answer: s.approvalPageSchema,
    errors: [400, 403, 503],
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    role: 'any',
    answer: z.record(z.string(), z.unknown()),
    errors: [],
  },
];

/**
 * JSON Schema 2020-12, as OpenAPI 3.1 takes it: 3.0's dialect has no propertyNames, so a record's
 * key rules (a policy rule's argument paths, an edit's name) were missing and valid-looking bodies
 * were refused.
 */
const json = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  return rest;
};

const ERROR_ANSWERS: Record<number, string> = {
  400: 'a bad request: the message names the field',
  401: 'no token, or one that is not known or not valid',
  403: 'the token’s roles do not allow this',
  404: 'no such task',
  409:
    'the task refuses this: it has ended, the decision does not match its pending request, a task ' +
    'with this id exists, or it closed before any worker ran it (so it has no state)',
  413: 'the body is larger than api.bodyLimitBytes',
  415: 'the body is not application/json',
  429: 'too many requests: see Retry-After',
  500: 'an unexpected error (logged on the server)',
  503: 'the Temporal server does not answer; try again',
};

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters: unknown[] = [];
    if (op.params)
      parameters.push({ name: 'taskId', in: 'path', required: true, schema: json(s.taskIdSchema, 'input') });
    if (op.query) {
      for (const [name, field] of Object.entries(op.query.shape)) {
        parameters.push({
          name,
          in: 'query',
          required: !(field as z.ZodType).safeParse(undefined).success,
          schema: json(field as z.ZodType, 'input'),
        });
      }
    }
    const statuses = [...new Set([...op.errors, 401, 429, 500])].sort((a, b) => a - b);
    const errors = Object.fromEntries(
      statuses.map((code) => [
        String(code),
        {
          description: ERROR_ANSWERS[code],
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      ]),
    );
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      description: `Needs the role ${op.role} (or admin).`,
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: op.method === 'post' && !op.body.safeParse(undefined).success,
              content: { 'application/json': { schema: json(op.body, 'input') } },
            },
          }
        : {}),
      responses: {
        [String(op.status ?? 200)]: {
          description: 'OK',
          content: { 'application/json': { schema: json(op.answer, 'output') } },
        },
        ...errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Steward front door',
      version,
      description:
        'Start, watch, decide and cancel Steward tasks. Every route needs Authorization: Bearer <token> ' +
        '(a token from `steward tokens create`, or a JWT of the configured OIDC issuer). Errors are ' +
        '{ "error": { "code", "message" } }.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: json(s.errorSchema, 'output') },
    },
    paths,
  };
}
