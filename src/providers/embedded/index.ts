/**
 * The embedded model: a small GGUF model run in-process by node-llama-cpp (CPU only, no key, no network).
 *
 * - The model and one context are loaded lazily, once per process per model file, and shared by every
 *   provider instance naming that file.
 * - Generations run one at a time; callers wait in a bounded queue (a full queue is `ProviderUnavailable`,
 *   so the activity retries later).
 * - Mode `action` decodes under a JSON-schema grammar built from the offered tools, so the output is always
 *   `{"tool": <one of the names>, "input": <that tool's parameters>}` (see `buildActionSchema`).
 * - Every request gets a fresh context sequence: nothing leaks from one request into the next, and the
 *   sequence's token meter gives the real input and output token counts.
 *
 * node-llama-cpp is an ES module with top-level await, which `require` cannot load; it is imported with a
 * real dynamic `import()` (kept out of reach of the TypeScript/SWC CommonJS transform, and run with the main
 * context's loader so it also works inside jest's VM contexts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, failure } from '../errors';
import type { ChatMessage, ModelProvider, ModelRequest, ModelResponse, ToolSpec } from './types';

type LlamaModule = typeof import('node-llama-cpp');
type Llama = import('node-llama-cpp').Llama;
type LlamaModel = import('node-llama-cpp').LlamaModel;
type LlamaContext = import('node-llama-cpp').LlamaContext;
type ChatWrapper = import('node-llama-cpp').ChatWrapper;
type ChatHistoryItem = import('node-llama-cpp').ChatHistoryItem;
type LlamaGrammar = import('node-llama-cpp').LlamaGrammar;
type GbnfJsonSchema = import('node-llama-cpp').GbnfJsonSchema;

export interface EmbeddedModelProviderOptions {
  /** The GGUF file (see `ensureModel` in `modelFiles.ts`). */
  modelPath: string;
  /** CPU threads for evaluation; default `defaultThreads()`. Only the first provider to load a file decides. */
  threads?: number;
  /** Context window in tokens; default 4096. Only the first provider to load a file decides. */
  contextSize?: number;
  /** Requests that may wait while one generates; default 8. More are refused with `ProviderUnavailable`. */
  maxQueue?: number;
}

export const DEFAULT_CONTEXT_SIZE = 4096;
export const DEFAULT_MAX_QUEUE = 8;

/**
 * Threads for a small model on this machine: one core is left to Node's event loop (and the Temporal worker).
 * Measured with SmolLM2-135M on 2 cores: 1 thread ~62 tok/s, 2 threads ~50 tok/s, 4 (oversubscribed) ~0.3 tok/s.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(os.availableParallelism() - 1, 4));
}

export class EmbeddedModelProvider implements ModelProvider {
  readonly name = 'embedded';
  private readonly modelPath: string;
  private readonly modelName: string;
  private shared?: SharedEngine;
  private closed = false;

  constructor(private readonly options: EmbeddedModelProviderOptions) {
    this.modelPath = path.resolve(options.modelPath);
    this.modelName = path.basename(this.modelPath).replace(/\.gguf$/i, '');
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    if (this.closed) throw failure(ErrorTypes.ProviderUnavailable, 'the embedded model provider is closed');
    if (request.mode === 'action' && request.tools.length === 0) {
      throw failure(ErrorTypes.ProviderRejected, 'an action was asked for, but no tool was offered');
    }
    throwIfAborted(request.signal);

    // Heartbeat from the first moment: queue wait, model load and prompt evaluation can all take seconds.
    const progress = progressReporter(request.onProgress);
    const ticker = setInterval(() => progress.now(), 1000);
    ticker.unref();
    progress.now();
    try {
      const engine = await untilAborted(this.acquireEngine(), request.signal);
      const release = await engine.gate.acquire(request.signal, this.options.maxQueue ?? DEFAULT_MAX_QUEUE);
      try {
        return await this.generate(engine, request, progress);
      } finally {
        release();
      }
    } finally {
      clearInterval(ticker);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const shared = this.shared;
    this.shared = undefined;
    if (shared) await releaseSharedEngine(this.modelPath, shared);
  }

  private acquireEngine(): Promise<Engine> {
    if (!this.shared) {
      const shared = acquireSharedEngine(this.modelPath, this.options);
      this.shared = shared;
      // A failed load is not kept: the next request tries again.
      shared.engine.catch(() => {
        if (this.shared === shared) this.shared = undefined;
      });
    }
    return this.shared.engine;
  }

  private async generate(
    engine: Engine,
    request: ModelRequest,
    progress: ProgressReporter,
  ): Promise<ModelResponse> {
    throwIfAborted(request.signal);
    const { context, chatWrapper, mod } = engine;
    const history = toChatHistory(request.messages, request.mode === 'action' ? request.tools : []);
    const grammar =
      request.mode === 'action' ? await actionGrammar(engine, buildActionSchema(request.tools)) : undefined;

    const sequence = context.getSequence();
    const chat = new mod.LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
    let outputTokens = 0;
    try {
      const result = await chat.generateResponse(history, {
        maxTokens: Math.max(1, request.maxOutputTokens),
        signal: request.signal,
        stopOnAbortSignal: true,
        temperature: 0,
        trimWhitespaceSuffix: true,
        ...(grammar
          ? {
              grammar,
              // Values must not loop (`"k": 1, "k": 1, …`), but JSON punctuation repeats by nature: spare it.
              repeatPenalty: {
                penalty: 1.1,
                lastTokens: 64,
                punishTokensFilter: (tokens) => tokens.filter((t) => !engine.jsonPunctuation.has(t)),
              },
            }
          : {
              repeatPenalty: { penalty: 1.15, frequencyPenalty: 0.1, presencePenalty: 0.05, lastTokens: 64 },
            }),
        onToken: (tokens) => {
          outputTokens += tokens.length;
          progress.throttled({ outputTokens });
        },
      });
      // stopOnAbortSignal returns what was generated; a cancelled activity wants an error, not a partial answer.
      throwIfAborted(request.signal);
      const usage = {
        inputTokens: sequence.tokenMeter.usedInputTokens,
        outputTokens: sequence.tokenMeter.usedOutputTokens,
      };
      progress.now({ outputTokens: usage.outputTokens });
      const base = { usage, provider: this.name, model: this.modelName };
      if (request.mode === 'text') return { ...base, text: result.response };
      return { ...base, ...parseActionOutput(result.response, request.tools) };
    } catch (err) {
      throwIfAborted(request.signal);
      if (isApplicationFailure(err)) throw err;
      throw failure(
        ErrorTypes.ProviderUnavailable,
        `embedded model ${this.modelName} failed: ${messageOf(err)}`,
        {
          cause: err instanceof Error ? err : undefined,
        },
      );
    } finally {
      chat.dispose({ disposeSequence: false });
      await sequence.dispose();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Shared engines: one model + one single-sequence context per model file, with its own queue.

interface Engine {
  mod: LlamaModule;
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  chatWrapper: ChatWrapper;
  gate: Gate;
  /** Tokens that are only JSON punctuation and spaces: never penalised as repetition. */
  jsonPunctuation: Set<number>;
  /** Compiled action grammars by schema text (agents offer the same tools step after step). */
  grammars: Map<string, Promise<LlamaGrammar>>;
}

interface SharedEngine {
  engine: Promise<Engine>;
  users: number;
}

const engines = new Map<string, SharedEngine>();
let llamaInstance: Promise<Llama> | undefined;
let llamaModule: Promise<LlamaModule> | undefined;

/** Loads node-llama-cpp (an ES module with top-level await) with a real dynamic import. */
export function importLlamaModule(): Promise<LlamaModule> {
  if (!llamaModule) {
    const url = pathToFileURL(require.resolve('node-llama-cpp')).href;
    const loading = dynamicImport<LlamaModule>(url);
    llamaModule = loading;
    loading.catch(() => {
      if (llamaModule === loading) llamaModule = undefined;
    });
  }
  return llamaModule;
}

/**
 * `import()` out of reach of the CommonJS transform of tsc/SWC. In a plain Node context a Function does it; inside
 * a VM context without a module loader (jest's), a Script compiled with the main context's loader does.
 */
async function dynamicImport<T>(specifier: string): Promise<T> {
  const viaFunction = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<T>;
  try {
    return await viaFunction(specifier);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (
      code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING' &&
      code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG'
    ) {
      throw err;
    }
  }
  const viaScript = new vm.Script('(specifier) => import(specifier)', {
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }).runInThisContext() as (s: string) => Promise<T>;
  return viaScript(specifier);
}

type GbnfGenerator = (
  schema: GbnfJsonSchema,
  options: { allowNewLines?: boolean; scopePadSpaces?: number },
) => string;
let gbnfGenerator: Promise<GbnfGenerator | undefined> | undefined;

/**
 * node-llama-cpp's own JSON-schema-to-GBNF generator, which it does not export: reached by file path so its
 * `allowNewLines: false` can be used. Without it the grammar lets the model pretty-print, and SmolLM2 does,
 * spending about twice the tokens on indentation. Falls back to `createGrammarForJsonSchema` if it moves.
 */
function importGbnfGenerator(): Promise<GbnfGenerator | undefined> {
  if (!gbnfGenerator) {
    const file = path.join(
      path.dirname(require.resolve('node-llama-cpp')),
      'utils/gbnfJson/getGbnfGrammarForGbnfJsonSchema.js',
    );
    gbnfGenerator = dynamicImport<{ getGbnfGrammarForGbnfJsonSchema?: GbnfGenerator }>(
      pathToFileURL(file).href,
    ).then(
      (m) =>
        typeof m.getGbnfGrammarForGbnfJsonSchema === 'function'
          ? m.getGbnfGrammarForGbnfJsonSchema
          : undefined,
      () => undefined,
    );
  }
  return gbnfGenerator;
}

/** A grammar for the action schema that keeps the JSON on one line. */
function actionGrammar(engine: Engine, schema: GrammarSchema): Promise<LlamaGrammar> {
  const key = JSON.stringify(schema);
  let grammar = engine.grammars.get(key);
  if (!grammar) {
    grammar = (async () => {
      const generate = await importGbnfGenerator();
      const gbnf = schema as unknown as GbnfJsonSchema;
      if (!generate)
        return engine.llama.createGrammarForJsonSchema(
          gbnf as Parameters<Llama['createGrammarForJsonSchema']>[0],
        );
      return engine.llama.createGrammar({
        grammar: generate(gbnf, { allowNewLines: false }),
        stopGenerationTriggers: ['\n'.repeat(4)],
        trimWhitespaceSuffix: true,
      });
    })();
    engine.grammars.set(key, grammar);
    grammar.catch(() => engine.grammars.delete(key));
    while (engine.grammars.size > 32) engine.grammars.delete(engine.grammars.keys().next().value!);
  }
  return grammar;
}

function getLlamaInstance(mod: LlamaModule): Promise<Llama> {
  if (!llamaInstance) {
    // CPU only, prebuilt binary only: never download or compile anything at run time.
    const loading = mod.getLlama({
      gpu: false,
      build: 'never',
      logLevel: mod.LlamaLogLevel.error,
      progressLogs: false,
    });
    llamaInstance = loading;
    loading.catch(() => {
      if (llamaInstance === loading) llamaInstance = undefined;
    });
  }
  return llamaInstance;
}

function acquireSharedEngine(modelPath: string, options: EmbeddedModelProviderOptions): SharedEngine {
  let shared = engines.get(modelPath);
  if (!shared) {
    const entry: SharedEngine = { engine: loadEngine(modelPath, options), users: 0 };
    engines.set(modelPath, entry);
    entry.engine.catch(() => {
      if (engines.get(modelPath) === entry) engines.delete(modelPath);
    });
    shared = entry;
  }
  shared.users += 1;
  return shared;
}

/** The last provider to let go of a model file disposes it (and the Llama instance when no model is left). */
async function releaseSharedEngine(modelPath: string, shared: SharedEngine): Promise<void> {
  shared.users -= 1;
  if (shared.users > 0) return;
  if (engines.get(modelPath) === shared) engines.delete(modelPath);
  let engine: Engine;
  try {
    engine = await shared.engine;
  } catch {
    return;
  }
  await engine.context.dispose();
  await engine.model.dispose();
  if (engines.size === 0 && llamaInstance) {
    const llama = llamaInstance;
    llamaInstance = undefined;
    await (await llama).dispose();
  }
}

async function loadEngine(modelPath: string, options: EmbeddedModelProviderOptions): Promise<Engine> {
  if (!existsSync(modelPath)) {
    throw failure(
      ErrorTypes.ProviderRejected,
      `embedded model file ${modelPath} does not exist (fetch it with ensureModel / scripts/fetch-model.js)`,
    );
  }
  try {
    const mod = await importLlamaModule();
    const llama = await getLlamaInstance(mod);
    const model = await llama.loadModel({ modelPath });
    try {
      const context = await model.createContext({
        contextSize: options.contextSize ?? DEFAULT_CONTEXT_SIZE,
        threads: options.threads ?? defaultThreads(),
        sequences: 1,
      });
      const chatWrapper = mod.resolveChatWrapper(model);
      return {
        mod,
        llama,
        model,
        context,
        chatWrapper,
        gate: new Gate(),
        jsonPunctuation: jsonPunctuationTokens(model),
        grammars: new Map(),
      };
    } catch (err) {
      await model.dispose();
      throw err;
    }
  } catch (err) {
    if (isApplicationFailure(err)) throw err;
    throw failure(ErrorTypes.ProviderRejected, `cannot load embedded model ${modelPath}: ${messageOf(err)}`, {
      cause: err instanceof Error ? err : undefined,
    });
  }
}

function jsonPunctuationTokens(model: LlamaModel): Set<number> {
  const tokens = new Set<number>();
  const vocabulary = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
  const count = Array.isArray(vocabulary) ? vocabulary.length : 0;
  for (let token = 0; token < count; token++) {
    const text = model.detokenize([token as import('node-llama-cpp').Token]);
    if (text.length > 0 && /^[\s{}[\]":,]+$/.test(text)) tokens.add(token);
  }
  return tokens;
}

/** One generation at a time; at most `maxQueue` waiting; a waiter whose signal aborts leaves the queue. */
class Gate {
  private busy = false;
  private readonly waiters: { grant: () => void }[] = [];

  acquire(signal: AbortSignal, maxQueue: number): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= maxQueue) {
      return Promise.reject(
        failure(
          ErrorTypes.ProviderUnavailable,
          `the embedded model is busy: ${this.waiters.length} requests already wait (maxQueue ${maxQueue})`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant();
      else this.busy = false;
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Messages to chat history.

/** The instruction that tells the model how to answer in mode `action`, with each tool's input rendered briefly. */
export function describeTools(tools: ToolSpec[]): string {
  const lines = tools.map((t) => {
    const description = t.description ? ` ${t.description.trim()}` : '';
    return `- ${t.name}:${description} Input: ${describeSchema(t.parameters)}`;
  });
  return [
    'Answer with exactly one tool call, as JSON: {"tool": "<tool name>", "input": {<the tool\'s input>}}.',
    'Tools:',
    ...lines,
  ].join('\n');
}

/** Turns the request's messages into node-llama-cpp chat history, ending with the model's (empty) turn. */
export function toChatHistory(messages: ChatMessage[], tools: ToolSpec[]): ChatHistoryItem[] {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content.trim())
    .filter(Boolean);
  if (tools.length > 0) system.push(describeTools(tools));
  const history: ChatHistoryItem[] = [];
  if (system.length > 0) history.push({ type: 'system', text: system.join('\n\n') });

  const callNames = new Map<string, string>();
  const pushUser = (text: string) => {
    const last = history[history.length - 1];
    if (last?.type === 'user') last.text = `${last.text}\n\n${text}`;
    else history.push({ type: 'user', text });
  };
  for (const message of messages) {
    if (message.role === 'system') continue;
    if (message.role === 'user') pushUser(message.content);
    else if (message.role === 'tool') {
      const name = (message.toolCallId && callNames.get(message.toolCallId)) || 'the tool';
      pushUser(`Result of ${name}:\n${message.content}`);
    } else {
      const parts: string[] = [];
      if (message.content.trim()) parts.push(message.content.trim());
      if (message.toolCall) {
        callNames.set(message.toolCall.id, message.toolCall.name);
        const args = message.toolCall.arguments.trim() || '{}';
        parts.push(`{"tool": ${JSON.stringify(message.toolCall.name)}, "input": ${args}}`);
      }
      const last = history[history.length - 1];
      if (last?.type === 'model') last.response.push(`\n${parts.join('\n')}`);
      else history.push({ type: 'model', response: [parts.join('\n')] });
    }
  }
  if (!history.some((item) => item.type === 'user')) history.push({ type: 'user', text: 'Continue.' });
  history.push({ type: 'model', response: [] });
  return history;
}

/** Reads `{"tool", "input"}` from the constrained output; a cut-off output still names what it can. */
export function parseActionOutput(
  raw: string,
  tools: ToolSpec[],
): { toolCall: { id: string; name: string; arguments: string }; text?: string } {
  const id = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  try {
    const parsed = JSON.parse(raw) as { tool?: unknown; input?: unknown };
    if (typeof parsed.tool === 'string') {
      return { toolCall: { id, name: parsed.tool, arguments: JSON.stringify(parsed.input ?? {}) } };
    }
  } catch {
    // cut off at maxOutputTokens: fall through
  }
  // The grammar puts the tool name first; hand the partial input to the caller's validation (an audited retry).
  const name = /^\s*\{\s*"tool"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(raw)?.[1];
  const known = tools.find((t) => t.name === name)?.name ?? name ?? '';
  const input = /"input"\s*:\s*([\s\S]*)$/.exec(raw)?.[1] ?? '';
  return { toolCall: { id, name: known, arguments: input }, text: raw };
}

// ---------------------------------------------------------------------------------------------
// JSON Schema (as zod's z.toJSONSchema writes it) to the subset node-llama-cpp's grammar supports.

/** The part of JSON Schema that `llama.createGrammarForJsonSchema` understands (its GbnfJsonSchema). */
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

type GrammarPrimitive = 'string' | 'number' | 'integer' | 'boolean' | 'null';

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

/** A short, TypeScript-like rendering of a JSON Schema for the prompt (`{"path": string, "limit"?: integer}`). */
export function describeSchema(schema: unknown, depth = 0): string {
  if (!isRecord(schema) || depth > 6) return 'any';
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alternatives = (schema.anyOf ?? schema.oneOf) as unknown;
  if (Array.isArray(alternatives)) return alternatives.map((s) => describeSchema(s, depth + 1)).join(' | ');
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').pop() || 'any';
  const type = schema.type ?? (isRecord(schema.properties) ? 'object' : schema.items ? 'array' : undefined);
  if (Array.isArray(type))
    return type.map((t) => describeSchema({ ...schema, type: t }, depth + 1)).join(' | ');
  if (type === 'object') {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    const required = new Set(Array.isArray(schema.required) ? (schema.required as unknown[]) : []);
    const fields = Object.entries(properties).map(([key, value]) => {
      const note =
        isRecord(value) && typeof value.description === 'string' ? ` /* ${value.description} */` : '';
      return `${JSON.stringify(key)}${required.has(key) ? '' : '?'}: ${describeSchema(value, depth + 1)}${note}`;
    });
    return `{${fields.join(', ')}}`;
  }
  if (type === 'array') return `${describeSchema(schema.items, depth + 1)}[]`;
  return typeof type === 'string' ? type : 'any';
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

// ---------------------------------------------------------------------------------------------

interface ProgressReporter {
  now(info?: { outputTokens?: number }): void;
  throttled(info: { outputTokens?: number }): void;
}

function progressReporter(onProgress: ModelRequest['onProgress']): ProgressReporter {
  let last = 0;
  let latest: { outputTokens?: number } = {};
  const emit = (info?: { outputTokens?: number }) => {
    if (info) latest = info;
    last = Date.now();
    try {
      onProgress?.({ ...latest });
    } catch {
      // a failing heartbeat must not stop the generation
    }
  };
  return {
    now: emit,
    throttled(info) {
      latest = info;
      if (Date.now() - last >= 250) emit(info);
    },
  };
}

function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason !== undefined && typeof reason === 'object' && reason !== null && 'message' in reason)
    return reason;
  return failure(ErrorTypes.ProviderUnavailable, 'the embedded model call was cancelled');
}

/** Waits for `promise`, or rejects as soon as the signal aborts (the promise itself runs on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

function isApplicationFailure(err: unknown): err is ApplicationFailure {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'ApplicationFailure';
}

function messageOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'message' in err
    ? String((err as { message: unknown }).message)
    : String(err);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitiveValue(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
