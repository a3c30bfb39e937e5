/**
 * JSON Schema (as zod's `z.toJSONSchema` writes it) to the subset node-llama-cpp's grammar supports, and the
 * schema of one action: `{"tool": <name>, "input": <that tool's parameters>}`. Pure: tested on its own in
 * test/unit/modelSchema.test.ts.
 */
import type { ToolSpec } from '../types';
import {
  ANY_JSON,
  type GrammarPrimitive,
  type GrammarSchema,
  type GrammarSchemaOptions,
  isRecord,
} from './grammarSchema';

const PRIMITIVES: readonly string[] = ['string', 'number', 'integer', 'boolean', 'null'];
const STRING_FORMATS: readonly string[] = ['date-time', 'time', 'date'];
/** Keywords that make `type: [...]` worth splitting into alternatives, so each keeps its own limits. */
const CONSTRAINT_KEYWORDS = [
  'minLength',
  'maxLength',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
];

/** Converts one JSON Schema to the grammar subset; `$defs` it needs come back separately (see `buildActionSchema`). */
export function convertJsonSchema(
  schema: unknown,
  options: GrammarSchemaOptions = {},
): { schema: GrammarSchema; defs: Record<string, GrammarSchema> } {
  const converter = new SchemaConverter(schema, options);
  return { schema: converter.convert(schema), defs: converter.defs };
}

/** A standalone grammar schema for one JSON Schema (its `$defs` attached at the top). */
export function toGrammarSchema(schema: unknown, options: GrammarSchemaOptions = {}): GrammarSchema {
  const { schema: converted, defs } = convertJsonSchema(schema, options);
  if (Object.keys(defs).length === 0) return converted;
  return { oneOf: [converted], $defs: defs };
}

/**
 * The schema of one action: `{"tool": <name>, "input": <that tool's parameters>}` for one of the tools.
 * Keys come out in this order, so the model names the tool before it writes the input.
 */
export function buildActionSchema(tools: ToolSpec[], options: GrammarSchemaOptions = {}): GrammarSchema {
  const defs: Record<string, GrammarSchema> = {};
  const variants = tools.map((tool, index): GrammarSchema => {
    const converted = convertJsonSchema(tool.parameters, { ...options, defsPrefix: `t${index}_` });
    Object.assign(defs, converted.defs);
    return { type: 'object', properties: { tool: { const: tool.name }, input: converted.schema } };
  });
  return Object.keys(defs).length > 0 ? { oneOf: variants, $defs: defs } : { oneOf: variants };
}

class SchemaConverter {
  readonly defs: Record<string, GrammarSchema> = {};
  private readonly sourceDefs: Record<string, unknown>;
  private readonly prefix: string;
  private readonly optional: 'omit' | 'require';
  private readonly maxIntegerEnum: number;

  constructor(
    private readonly root: unknown,
    options: GrammarSchemaOptions,
  ) {
    const r = isRecord(root) ? root : {};
    this.sourceDefs = {
      ...(isRecord(r.definitions) ? r.definitions : {}),
      ...(isRecord(r.$defs) ? r.$defs : {}),
    };
    this.prefix = options.defsPrefix ?? '';
    this.optional = options.optionalProperties ?? 'omit';
    this.maxIntegerEnum = options.maxIntegerEnum ?? 64;
  }

  convert(schema: unknown): GrammarSchema {
    if (schema === true || schema === undefined) return ANY_JSON;
    if (schema === false || !isRecord(schema)) return { type: 'null' };
    const description = typeof schema.description === 'string' ? schema.description : undefined;

    if (typeof schema.$ref === 'string') return withDescription(this.ref(schema.$ref), description);
    if ('const' in schema) {
      return isPrimitiveValue(schema.const)
        ? withDescription({ const: schema.const }, description)
        : ANY_JSON;
    }
    if (Array.isArray(schema.enum)) {
      const values = schema.enum.filter(isPrimitiveValue);
      return values.length > 0 ? withDescription({ enum: values }, description) : ANY_JSON;
    }
    const alternatives = Array.isArray(schema.anyOf)
      ? schema.anyOf
      : Array.isArray(schema.oneOf)
        ? schema.oneOf
        : undefined;
    if (alternatives) {
      const rest = Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'anyOf' && k !== 'oneOf'));
      // Keywords beside anyOf (a shared `type`, say) apply to every alternative.
      const shared = Object.keys(rest).some(
        (k) => k !== 'description' && k !== '$schema' && k !== 'title' && k !== 'default',
      );
      const converted = alternatives.map((alt) =>
        this.convert(shared && isRecord(alt) ? { ...rest, ...alt } : alt),
      );
      return withDescription(converted.length === 1 ? converted[0]! : { oneOf: converted }, description);
    }
    if (Array.isArray(schema.allOf)) return withDescription(this.convert(mergeAllOf(schema)), description);

    const type =
      schema.type ??
      (isRecord(schema.properties) ? 'object' : schema.items || schema.prefixItems ? 'array' : undefined);
    if (Array.isArray(type)) {
      const types = type.filter((t): t is string => typeof t === 'string');
      const constrained = CONSTRAINT_KEYWORDS.some((k) => k in schema);
      if (types.every((t) => PRIMITIVES.includes(t)) && !constrained) {
        return withDescription({ type: types as GrammarPrimitive[] }, description);
      }
      const converted = types.map((t) => this.convert({ ...schema, type: t }));
      return withDescription(converted.length === 1 ? converted[0]! : { oneOf: converted }, description);
    }
    switch (type) {
      case 'string':
        return withDescription(this.string(schema), description);
      case 'integer':
        return withDescription(this.integer(schema), description);
      case 'number':
      case 'boolean':
      case 'null':
        return withDescription({ type: type as 'number' | 'boolean' | 'null' }, description);
      case 'object':
        return withDescription(this.object(schema), description);
      case 'array':
        return withDescription(this.array(schema), description);
      default:
        return ANY_JSON;
    }
  }

  private string(schema: Record<string, unknown>): GrammarSchema {
    if (typeof schema.format === 'string' && STRING_FORMATS.includes(schema.format)) {
      return { type: 'string', format: schema.format as 'date-time' | 'time' | 'date' };
    }
    const out: { type: 'string'; minLength?: number; maxLength?: number } = { type: 'string' };
    if (isNonNegativeInteger(schema.minLength) && schema.minLength > 0) out.minLength = schema.minLength;
    if (isNonNegativeInteger(schema.maxLength)) out.maxLength = schema.maxLength;
    if (out.maxLength !== undefined && out.minLength !== undefined && out.maxLength < out.minLength) {
      out.maxLength = out.minLength;
    }
    return out;
  }

  /** A small bounded integer range becomes an enum the grammar enforces; other bounds are the caller's check. */
  private integer(schema: Record<string, unknown>): GrammarSchema {
    let min = typeof schema.minimum === 'number' ? Math.ceil(schema.minimum) : undefined;
    let max = typeof schema.maximum === 'number' ? Math.floor(schema.maximum) : undefined;
    if (typeof schema.exclusiveMinimum === 'number')
      min = Math.max(min ?? -Infinity, Math.floor(schema.exclusiveMinimum) + 1);
    if (typeof schema.exclusiveMaximum === 'number')
      max = Math.min(max ?? Infinity, Math.ceil(schema.exclusiveMaximum) - 1);
    if (min !== undefined && max !== undefined && max >= min && max - min < this.maxIntegerEnum) {
      const step =
        typeof schema.multipleOf === 'number' && Number.isInteger(schema.multipleOf) ? schema.multipleOf : 1;
      const values: number[] = [];
      for (let v = min; v <= max; v++) if (v % step === 0) values.push(v);
      if (values.length > 0) return { enum: values };
    }
    return { type: 'integer' };
  }

  private object(schema: Record<string, unknown>): GrammarSchema {
    const sourceProperties = isRecord(schema.properties) ? schema.properties : {};
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const properties: Record<string, GrammarSchema> = {};
    for (const [key, value] of Object.entries(sourceProperties)) {
      if (this.optional === 'omit' && !required.has(key)) continue;
      properties[key] = this.convert(value);
    }
    const additional = schema.additionalProperties;
    // z.record(z.enum([...]), v): the keys are known, so they become (required) properties.
    const names =
      isRecord(schema.propertyNames) && Array.isArray(schema.propertyNames.enum)
        ? schema.propertyNames.enum
        : undefined;
    if (names && isRecord(additional)) {
      for (const name of names) if (typeof name === 'string') properties[name] = this.convert(additional);
      return { type: 'object', properties, additionalProperties: false };
    }
    const out: {
      type: 'object';
      properties: Record<string, GrammarSchema>;
      additionalProperties: boolean | GrammarSchema;
      minProperties?: number;
      maxProperties?: number;
    } = {
      type: 'object',
      properties,
      additionalProperties: isRecord(additional)
        ? this.convert(additional)
        : additional === true || (additional === undefined && Object.keys(sourceProperties).length === 0),
    };
    if (out.additionalProperties !== false) {
      if (isNonNegativeInteger(schema.minProperties)) out.minProperties = schema.minProperties;
      if (isNonNegativeInteger(schema.maxProperties))
        out.maxProperties = Math.max(schema.maxProperties, Object.keys(properties).length);
    }
    return out;
  }

  private array(schema: Record<string, unknown>): GrammarSchema {
    const out: {
      type: 'array';
      items?: GrammarSchema;
      prefixItems?: GrammarSchema[];
      minItems?: number;
      maxItems?: number;
    } = {
      type: 'array',
    };
    if (Array.isArray(schema.prefixItems)) out.prefixItems = schema.prefixItems.map((s) => this.convert(s));
    if (Array.isArray(schema.items)) out.prefixItems = schema.items.map((s) => this.convert(s));
    else if (isRecord(schema.items) || schema.items === true) out.items = this.convert(schema.items);
    if (isNonNegativeInteger(schema.minItems)) out.minItems = schema.minItems;
    if (isNonNegativeInteger(schema.maxItems)) out.maxItems = schema.maxItems;
    // A closed tuple (`items: false`) has exactly its prefix items.
    if (out.prefixItems && schema.items === false && out.maxItems === undefined)
      out.maxItems = out.prefixItems.length;
    if (out.prefixItems && out.maxItems !== undefined && out.maxItems < out.prefixItems.length)
      out.maxItems = out.prefixItems.length;
    if (out.minItems !== undefined && out.maxItems !== undefined && out.maxItems < out.minItems)
      out.maxItems = out.minItems;
    return out;
  }

  /** `#` (the root, for recursive schemas) and `#/$defs/X` / `#/definitions/X` become lifted `$defs`. */
  private ref(ref: string): GrammarSchema {
    let sourceName: string;
    let target: unknown;
    if (ref === '#') {
      sourceName = 'root';
      target = this.root;
    } else {
      const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
      if (!match) return ANY_JSON;
      sourceName = decodeURIComponent(match[1]!).replace(/~1/g, '/').replace(/~0/g, '~');
      target = this.sourceDefs[sourceName];
      if (target === undefined) return ANY_JSON;
    }
    const name = `${this.prefix}${sourceName}`.replace(/[^A-Za-z0-9_]/g, '_');
    if (!(name in this.defs)) {
      this.defs[name] = { type: 'null' }; // placeholder while converting (recursion)
      this.defs[name] = this.convert(target);
    }
    return { $ref: `#/$defs/${name}` };
  }
}

function withDescription(schema: GrammarSchema, description: string | undefined): GrammarSchema {
  return description === undefined ? schema : ({ ...schema, description } as GrammarSchema);
}

/** allOf of object schemas, merged (properties and required united); otherwise the first branch. */
function mergeAllOf(schema: Record<string, unknown>): Record<string, unknown> {
  const { allOf, ...rest } = schema;
  const parts = [rest, ...(allOf as unknown[])].filter(isRecord);
  const objects = parts.filter((p) => p.type === 'object' || isRecord(p.properties));
  if (objects.length !== parts.filter((p) => Object.keys(p).some((k) => k !== 'description')).length) {
    return (allOf as unknown[]).find(isRecord) ?? {};
  }
  const properties: Record<string, unknown> = {};
  const required = new Set<unknown>();
  let additionalProperties: unknown;
  for (const part of objects) {
    Object.assign(properties, isRecord(part.properties) ? part.properties : {});
    for (const r of Array.isArray(part.required) ? part.required : []) required.add(r);
    if (part.additionalProperties !== undefined) additionalProperties = part.additionalProperties;
  }
  return { type: 'object', properties, required: [...required], additionalProperties };
}

function isPrimitiveValue(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
