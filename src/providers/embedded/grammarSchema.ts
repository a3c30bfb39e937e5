/**
 * The part of JSON Schema that node-llama-cpp's grammar understands (its `GbnfJsonSchema`), written out here
 * so the conversion in `grammar.ts` stays pure: nothing in this folder's pure half loads node-llama-cpp.
 */

export type GrammarSchema =
  | { type: GrammarPrimitive | GrammarPrimitive[]; description?: string }
  | { type: 'string'; minLength?: number; maxLength?: number; description?: string }
  | { type: 'string'; format: 'date-time' | 'time' | 'date'; description?: string }
  | { const: string | number | boolean | null; description?: string }
  | { enum: (string | number | boolean | null)[]; description?: string }
  | { oneOf: GrammarSchema[]; description?: string; $defs?: Record<string, GrammarSchema> }
  | {
      type: 'object';
      properties?: Record<string, GrammarSchema>;
      additionalProperties?: boolean | GrammarSchema;
      minProperties?: number;
      maxProperties?: number;
      description?: string;
      $defs?: Record<string, GrammarSchema>;
    }
  | {
      type: 'array';
      items?: GrammarSchema;
      prefixItems?: GrammarSchema[];
      minItems?: number;
      maxItems?: number;
      description?: string;
      $defs?: Record<string, GrammarSchema>;
    }
  | { $ref: string; description?: string };

export type GrammarPrimitive = 'string' | 'number' | 'integer' | 'boolean' | 'null';

export interface GrammarSchemaOptions {
  /**
   * The grammar makes every listed property required. `omit` (default) leaves optional properties out, so a
   * small model never has to invent a value; `require` keeps them (the model must fill them in).
   */
  optionalProperties?: 'omit' | 'require';
  /** Integer ranges up to this many values become an enum, which the grammar can enforce. Default 64. */
  maxIntegerEnum?: number;
  /** Prefix for the names of lifted `$defs` (keeps the definitions of several tools apart). */
  defsPrefix?: string;
}

/** Any JSON value (for `{}`, `true`, and what the grammar cannot express). */
export const ANY_JSON: GrammarSchema = {
  oneOf: [
    { type: ['string', 'number', 'boolean', 'null'] },
    { type: 'array' },
    { type: 'object', additionalProperties: true },
  ],
};

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
