/**
 * /openapi.json, built from the same zod schemas the handlers parse with (zod 4's own JSON Schema
 * output, OpenAPI 3.0 flavour), so the document and the server cannot disagree.
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
}

/** Every route of the JSON API, as the server registers it. */
export const OPERATIONS: Operation[] = [
  { method: 'get', path: '/v1/me', summary: 'Who the token is for', role: 'any', answer: s.meSchema },
  {
    method: 'post',
    path: '/v1/tasks',
    summary: 'Start a task (on your own behalf; another principal needs admin)',
    role: 'operator',
    body: s.startTaskBodySchema,
    answer: s.startAnswerSchema,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/tasks',
    summary: 'List tasks, newest first, filtered on the Steward search attributes',
    role: 'viewer',
    query: s.listTasksQuerySchema,
    answer: s.taskPageSchema,
  },
  {
    method: 'get',
    path: '/v1/tasks/{taskId}',
    summary: "A task's state, blob-stored arguments and result resolved",
    role: 'viewer',
    params: true,
    answer: s.taskStateSchema,
  },
  {
    method: 'post',
    path: '/v1/tasks/{taskId}/decision',
    summary: 'Approve or reject the pending action, as the token’s identity',
    role: 'approver',
    params: true,
    body: s.decisionBodySchema,
    answer: s.decisionAnswerSchema,
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
  },
  {
    method: 'get',
    path: '/v1/tasks/{taskId}/audit',
    summary: "A task's audit trail and whether its hash chain verifies",
    role: 'viewer',
    params: true,
    answer: s.auditAnswerSchema,
  },
  {
    method: 'get',
    path: '/v1/tasks/{taskId}/audit/verify',
    summary: "Verifies a task's audit trail (the hash chain)",
    role: 'viewer',
    params: true,
    answer: s.verificationSchema,
  },
  {
    method: 'get',
    path: '/v1/approvals',
    summary: 'The approvals waiting for you',
    role: 'approver',
    query: s.listApprovalsQuerySchema,
    answer: s.approvalPageSchema,
  },
];

const json = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' });

const ERROR_ANSWERS: Record<string, string> = {
  '400': 'a bad request: the message names the field',
  '401': 'no token, or one that is not known or not valid',
  '403': 'the token’s roles do not allow this',
  '413': 'the body is larger than api.bodyLimitBytes',
  '429': 'too many requests: see Retry-After',
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
    const errors = Object.fromEntries(
      Object.entries(ERROR_ANSWERS).map(([code, description]) => [
        code,
        { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
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
    openapi: '3.0.3',
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
