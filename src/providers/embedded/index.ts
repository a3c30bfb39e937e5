/**
 * The embedded model: a small GGUF model run in-process by node-llama-cpp (CPU only, no key, no network).
 * It is given the path of its weights (see src/weights/ for the pinned model) and never fetches anything.
 *
 * - The model and one context are loaded lazily, once per process per model file, and shared by every
 *   provider instance naming that file (engine.ts).
 * - Generations run one at a time; callers wait in a bounded queue (a full queue is `ProviderUnavailable`,
 *   so the activity retries later) (gate.ts).
 * - Mode `action` decodes under a JSON-schema grammar built from the offered tools, so the output is always
 *   `{"tool": <one of the names>, "input": <that tool's parameters>}` (grammar.ts, `buildActionSchema`).
 * - Every request gets a fresh context sequence: nothing leaks from one request into the next, and the
 *   sequence's token meter gives the real input and output token counts.
 */
import path from 'node:path';
import { ErrorTypes, failure } from '../../errors';
import type { ModelProvider, ModelRequest, ModelResponse } from '../types';
import { parseActionOutput, toChatHistory } from './chatFormat';
import {
  acquireSharedEngine,
  actionGrammar,
  type Engine,
  type EngineOptions,
  releaseSharedEngine,
  type SharedEngine,
} from './engine';
import { isApplicationFailure, messageOf, throwIfAborted, untilAborted } from './failures';
import { buildActionSchema } from './grammar';

export { DEFAULT_CONTEXT_SIZE, defaultThreads } from './engine';

export interface EmbeddedModelProviderOptions extends EngineOptions {
  /** The GGUF file (for the pinned model, the path `ensureModel` in src/weights/ returns). */
  modelPath: string;
  /** Requests that may wait while one generates; default 8. More are refused with `ProviderUnavailable`. */
  maxQueue?: number;
}

export const DEFAULT_MAX_QUEUE = 8;

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

interface ProgressReporter {
  now(info?: { outputTokens?: number }): void;
  throttled(info: { outputTokens?: number }): void;
}

/** Heartbeats for the activity: at once, on demand, and at most every 250 ms while tokens come. */
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
