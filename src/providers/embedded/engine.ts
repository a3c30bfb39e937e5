/**
 * Engines: one loaded model and one single-sequence context per model file, shared by every provider
 * instance naming that file, with its own queue and its own cache of compiled action grammars.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { ErrorTypes, failure } from '../../errors';
import { isApplicationFailure, messageOf } from './failures';
import { Gate } from './gate';
import { importGbnfGenerator } from './gbnfGenerator';
import type { GrammarSchema } from './grammarSchema';
import {
  disposeLlamaInstance,
  getLlamaInstance,
  importLlamaModule,
  type Llama,
  type LlamaModule,
} from './llama';

type LlamaModel = import('node-llama-cpp').LlamaModel;
type LlamaContext = import('node-llama-cpp').LlamaContext;
type ChatWrapper = import('node-llama-cpp').ChatWrapper;
type LlamaGrammar = import('node-llama-cpp').LlamaGrammar;
type GbnfJsonSchema = import('node-llama-cpp').GbnfJsonSchema;
type Token = import('node-llama-cpp').Token;

export interface EngineOptions {
  /** CPU threads for evaluation; default `defaultThreads()`. Only the first provider to load a file decides. */
  threads?: number;
  /** Context window in tokens; default 4096. Only the first provider to load a file decides. */
  contextSize?: number;
}

export const DEFAULT_CONTEXT_SIZE = 4096;

/**
 * Threads for a small model on this machine: one core is left to Node's event loop (and the Temporal worker).
 * Measured with SmolLM2-135M on 2 cores: 1 thread ~62 tok/s, 2 threads ~50 tok/s, 4 (oversubscribed) ~0.3 tok/s.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(os.availableParallelism() - 1, 4));
}

export interface Engine {
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

export interface SharedEngine {
  engine: Promise<Engine>;
  users: number;
}

const engines = new Map<string, SharedEngine>();

/** The engine for a model file, loading it on first use; a failed load is forgotten so the next call retries. */
export function acquireSharedEngine(modelPath: string, options: EngineOptions): SharedEngine {
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
export async function releaseSharedEngine(modelPath: string, shared: SharedEngine): Promise<void> {
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
  if (engines.size === 0) await disposeLlamaInstance();
}

/** A compiled grammar for the action schema that keeps the JSON on one line (see gbnfGenerator.ts). */
export function actionGrammar(engine: Engine, schema: GrammarSchema): Promise<LlamaGrammar> {
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

async function loadEngine(modelPath: string, options: EngineOptions): Promise<Engine> {
  if (!existsSync(modelPath)) {
    throw failure(
      ErrorTypes.ProviderRejected,
      `embedded model file ${modelPath} does not exist (the pinned model is fetched by \`steward models pull\`; ` +
        `see the README's Models section)`,
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
    const text = model.detokenize([token as Token]);
    if (text.length > 0 && /^[\s{}[\]":,]+$/.test(text)) tokens.add(token);
  }
  return tokens;
}
