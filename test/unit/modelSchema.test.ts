import { z } from 'zod';
import {
  describeSchema,
  describeTools,
  parseActionOutput,
  toChatHistory,
} from '../../src/providers/embedded/chatFormat';
import { buildActionSchema, convertJsonSchema, toGrammarSchema } from '../../src/providers/embedded/grammar';
import { ANY_JSON } from '../../src/providers/embedded/grammarSchema';
import type { ToolSpec } from '../../src/providers/types';

const json = (schema: z.ZodType) => z.toJSONSchema(schema) as Record<string, unknown>;

/** Every key a converted schema may hold (node-llama-cpp's GbnfJsonSchema). */
const ALLOWED_KEYS = new Set([
  'type',
  'description',
  'const',
  'enum',
  'oneOf',
  '$defs',
  '$ref',
  'minLength',
  'maxLength',
  'format',
  'properties',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
]);

function assertGrammarSubset(schema: unknown, where = '$'): void {
  expect(typeof schema === 'object' && schema !== null && !Array.isArray(schema)).toBe(true);
  const record = schema as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!ALLOWED_KEYS.has(key)) throw new Error(`${where} has unsupported key ${key}`);
  }
  for (const nested of Object.values((record.properties as Record<string, unknown>) ?? {}))
    assertGrammarSubset(nested, `${where}.properties`);
  for (const nested of Object.values((record.$defs as Record<string, unknown>) ?? {}))
    assertGrammarSubset(nested, `${where}.$defs`);
  for (const nested of (record.oneOf as unknown[]) ?? []) assertGrammarSubset(nested, `${where}.oneOf`);
  for (const nested of (record.prefixItems as unknown[]) ?? [])
    assertGrammarSubset(nested, `${where}.prefixItems`);
  if (record.items !== undefined) assertGrammarSubset(record.items, `${where}.items`);
  if (typeof record.additionalProperties === 'object')
    assertGrammarSubset(record.additionalProperties, `${where}.additionalProperties`);
}

describe('convertJsonSchema: zod JSON Schema to the grammar subset', () => {
  it('drops $schema and what the grammar cannot express, and keeps string lengths', () => {
    const schema = toGrammarSchema(
      json(z.object({ path: z.string().min(1).max(200).describe('where') }).strict()),
    );
    expect(schema).toEqual({
      type: 'object',
      properties: { path: { type: 'string', minLength: 1, maxLength: 200, description: 'where' } },
      additionalProperties: false,
    });
    assertGrammarSubset(schema);
  });

  it('leaves optional properties out by default (the grammar would force a value), or keeps them on request', () => {
    const source = json(z.object({ a: z.number(), note: z.string().optional() }).strict());
    expect(toGrammarSchema(source)).toEqual({
      type: 'object',
      properties: { a: { type: 'number' } },
      additionalProperties: false,
    });
    expect(toGrammarSchema(source, { optionalProperties: 'require' })).toEqual({
      type: 'object',
      properties: { a: { type: 'number' }, note: { type: 'string' } },
      additionalProperties: false,
    });
  });

  it('turns nullable, enums, literals and unions into oneOf / enum / const', () => {
    const schema = toGrammarSchema(
      json(
        z.object({
          a: z.string().nullable(),
          mode: z.enum(['r', 'w']),
          lit: z.literal('x'),
          either: z.union([
            z.object({ kind: z.literal('a') }),
            z.object({ kind: z.literal('b'), n: z.number() }),
          ]),
        }),
      ),
    );
    expect(schema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        a: { type: ['string', 'null'] },
        mode: { enum: ['r', 'w'] },
        lit: { const: 'x' },
        either: {
          oneOf: [
            { type: 'object', properties: { kind: { const: 'a' } }, additionalProperties: false },
            {
              type: 'object',
              properties: { kind: { const: 'b' }, n: { type: 'number' } },
              additionalProperties: false,
            },
          ],
        },
      },
    });
    assertGrammarSubset(schema);
  });

  it('splits a type list whose members carry limits', () => {
    expect(toGrammarSchema({ type: ['string', 'null'], maxLength: 3 })).toEqual({
      oneOf: [{ type: 'string', maxLength: 3 }, { type: 'null' }],
    });
  });

  it('makes small integer ranges an enum and drops other numeric bounds', () => {
    const schema = toGrammarSchema(
      json(z.object({ n: z.number().int().min(1).max(5), m: z.number().int(), x: z.number().min(0).max(1) })),
    );
    expect(schema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { n: { enum: [1, 2, 3, 4, 5] }, m: { type: 'integer' }, x: { type: 'number' } },
    });
    expect(toGrammarSchema({ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 4 })).toEqual({
      enum: [1, 2, 3],
    });
    expect(toGrammarSchema({ type: 'integer', minimum: 0, maximum: 1000 })).toEqual({ type: 'integer' });
    expect(toGrammarSchema({ type: 'integer', minimum: 0, maximum: 10 }, { maxIntegerEnum: 4 })).toEqual({
      type: 'integer',
    });
  });

  it('keeps date formats and drops the others (the caller validates them)', () => {
    const schema = toGrammarSchema(json(z.object({ d: z.iso.datetime(), e: z.email() })));
    expect(schema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { d: { type: 'string', format: 'date-time' }, e: { type: 'string' } },
    });
  });

  it('handles arrays, tuples and item limits', () => {
    expect(toGrammarSchema(json(z.object({ tags: z.array(z.string()).min(1).max(3) })))).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 3 } },
    });
    expect(toGrammarSchema(json(z.tuple([z.string(), z.number()])))).toEqual({
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'number' }],
      minItems: 2,
      maxItems: 2,
    });
  });

  it('handles records: open keys as additionalProperties, enum keys as properties', () => {
    expect(toGrammarSchema(json(z.record(z.string(), z.number())))).toEqual({
      type: 'object',
      properties: {},
      additionalProperties: { type: 'number' },
    });
    expect(toGrammarSchema(json(z.record(z.enum(['a', 'b']), z.number())))).toEqual({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      additionalProperties: false,
    });
  });

  it('maps "anything" to any JSON value', () => {
    expect(toGrammarSchema(json(z.object({ v: z.unknown() })))).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { v: ANY_JSON },
    });
    expect(toGrammarSchema({})).toEqual(ANY_JSON);
    expect(toGrammarSchema(true)).toEqual(ANY_JSON);
  });

  it('merges allOf of objects', () => {
    const schema = toGrammarSchema({
      allOf: [
        { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
        {
          type: 'object',
          properties: { b: { type: 'number' } },
          required: ['b'],
          additionalProperties: false,
        },
      ],
    });
    expect(schema).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'number' } },
      additionalProperties: false,
    });
  });

  it('lifts recursive references (#, #/$defs/X) into prefixed $defs', () => {
    const Node: z.ZodType<{ name: string; children: unknown[] }> = z.object({
      name: z.string(),
      get children() {
        return z.array(Node);
      },
    });
    const root = convertJsonSchema(json(Node), { defsPrefix: 'p_' });
    expect(root.schema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        children: { type: 'array', items: { $ref: '#/$defs/p_root' } },
      },
    });
    expect(root.defs.p_root).toEqual(root.schema);

    const nested = convertJsonSchema(json(z.object({ tree: Node })), { defsPrefix: 'q_' });
    expect(nested.schema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { tree: { $ref: '#/$defs/q___schema0' } },
    });
    expect(nested.defs.q___schema0).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        children: { type: 'array', items: { $ref: '#/$defs/q___schema0' } },
      },
    });
    assertGrammarSubset(toGrammarSchema(json(z.object({ tree: Node }))));
  });

  it('does not follow references it cannot resolve', () => {
    expect(toGrammarSchema({ $ref: 'https://example.com/schema.json' })).toEqual(ANY_JSON);
    expect(toGrammarSchema({ $ref: '#/$defs/missing' })).toEqual(ANY_JSON);
  });
});

describe('buildActionSchema', () => {
  const tools: ToolSpec[] = [
    {
      name: 'read_file',
      description: 'Read a file.',
      parameters: json(z.object({ path: z.string().min(1) }).strict()),
    },
    {
      name: 'add',
      description: 'Add two numbers.',
      parameters: json(z.object({ a: z.number(), b: z.number() }).strict()),
    },
  ];

  it('is one {tool, input} object per tool, tool first', () => {
    const schema = buildActionSchema(tools);
    expect(schema).toEqual({
      oneOf: [
        {
          type: 'object',
          properties: {
            tool: { const: 'read_file' },
            input: {
              type: 'object',
              properties: { path: { type: 'string', minLength: 1 } },
              additionalProperties: false,
            },
          },
        },
        {
          type: 'object',
          properties: {
            tool: { const: 'add' },
            input: {
              type: 'object',
              properties: { a: { type: 'number' }, b: { type: 'number' } },
              additionalProperties: false,
            },
          },
        },
      ],
    });
    const first = (schema as { oneOf: { properties: Record<string, unknown> }[] }).oneOf[0]!;
    expect(Object.keys(first.properties)).toEqual(['tool', 'input']);
    assertGrammarSubset(schema);
  });

  it('keeps the $defs of different tools apart', () => {
    const withDefs = (name: string): ToolSpec => ({
      name,
      description: '',
      parameters: {
        type: 'object',
        properties: { x: { $ref: '#/$defs/X' } },
        required: ['x'],
        $defs: { X: { type: name === 'one' ? 'string' : 'number' } },
      },
    });
    const schema = buildActionSchema([withDefs('one'), withDefs('two')]) as {
      $defs: Record<string, unknown>;
    };
    expect(schema.$defs).toEqual({ t0_X: { type: 'string' }, t1_X: { type: 'number' } });
    assertGrammarSubset(schema);
  });
});

describe('prompt rendering', () => {
  it('describes a schema briefly', () => {
    const schema = json(
      z.object({
        path: z.string().describe('file path'),
        limit: z.number().int().optional(),
        mode: z.enum(['r', 'w']),
      }),
    );
    expect(describeSchema(schema)).toBe(
      '{"path": string /* file path */, "limit"?: integer, "mode": "r" | "w"}',
    );
    expect(describeSchema(json(z.array(z.string())))).toBe('string[]');
  });

  it('lists the tools with the answer format', () => {
    const text = describeTools([
      { name: 'add', description: 'Add two numbers.', parameters: json(z.object({ a: z.number() })) },
    ]);
    expect(text).toContain('{"tool": "<tool name>", "input"');
    expect(text).toContain('- add: Add two numbers. Input: {"a": number}');
  });

  it('turns messages into chat history: system first, tool results as user turns, calls as model JSON', () => {
    const history = toChatHistory(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Add 1 and 2.' },
        { role: 'assistant', content: '', toolCall: { id: 'c1', name: 'add', arguments: '{"a":1,"b":2}' } },
        { role: 'tool', content: '3', toolCallId: 'c1' },
        { role: 'user', content: 'Thanks.' },
      ],
      [{ name: 'add', description: 'Add.', parameters: { type: 'object' } }],
    );
    expect(history[0]).toMatchObject({ type: 'system' });
    expect((history[0] as { text: string }).text).toMatch(/^Be brief\.\n\nAnswer with exactly one tool call/);
    expect(history.slice(1)).toEqual([
      { type: 'user', text: 'Add 1 and 2.' },
      { type: 'model', response: ['{"tool": "add", "input": {"a":1,"b":2}}'] },
      { type: 'user', text: 'Result of add:\n3\n\nThanks.' },
      { type: 'model', response: [] },
    ]);
  });

  it('always has a user turn and ends with the model turn', () => {
    expect(toChatHistory([], [])).toEqual([
      { type: 'user', text: 'Continue.' },
      { type: 'model', response: [] },
    ]);
  });
});

describe('parseActionOutput', () => {
  const tools: ToolSpec[] = [{ name: 'read_file', description: '', parameters: { type: 'object' } }];

  it('returns the call with re-serialised input', () => {
    const { toolCall, text } = parseActionOutput(
      '{"tool": "read_file", "input": {"path": "a.txt"}}\n\n\n\n',
      tools,
    );
    expect(toolCall).toMatchObject({ name: 'read_file', arguments: '{"path":"a.txt"}' });
    expect(toolCall.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(text).toBeUndefined();
  });

  it('hands a cut-off output on with the tool name and the partial input', () => {
    const { toolCall, text } = parseActionOutput('{"tool": "read_file", "input": {"path": "a very lo', tools);
    expect(toolCall).toMatchObject({ name: 'read_file', arguments: '{"path": "a very lo' });
    expect(() => JSON.parse(toolCall.arguments)).toThrow();
    expect(text).toBe('{"tool": "read_file", "input": {"path": "a very lo');
  });

  it('names no tool when even the name was cut off', () => {
    expect(parseActionOutput('{"tool": "rea', tools).toolCall).toMatchObject({ name: '', arguments: '' });
  });
});
