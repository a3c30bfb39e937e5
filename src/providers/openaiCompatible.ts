import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { boundedText, ErrorTypes, failure, isRetryableHttpStatus, type ErrorType } from '../errors';
import { redactSecrets } from '../shared/secrets';
import type { ChatMessage, ModelProvider, ModelRequest, ModelResponse, TokenUsage } from './types';

export interface OpenAICompatibleOptions {
  name: string;
  baseURL: string;
  apiKey?: string;
  /** Further values no error may carry (the API key never does); each becomes `[redacted]`. */
  secrets?: string[];
  /** One deadline per request, covering the body as well as the headers. */
  timeoutMs?: number;
  /** Sent as `tool_choice` in action mode when set (some servers reject `required`). */
  toolChoice?: 'auto' | 'required';
  /** Send `max_completion_tokens` (OpenAI's current name) instead of `max_tokens`. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/** Far above any real call; a count beyond it (or negative, fractional, not a number) is a bad answer. */
export const MAX_USAGE_TOKENS = 10_000_000;

const usable = (n: unknown): n is number =>
  Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_USAGE_TOKENS;

/**
 * Usage only when both counts are reported; otherwise the step is charged its reservation. A count
 * that is there but impossible (−5,000,000 tokens would pay the task back) is a bad answer, not zero.
 */
function readUsage(
  usage: { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined,
  bad: (field: string, value: unknown) => Error,
): TokenUsage | undefined {
  const input = usage?.prompt_tokens;
  const output = usage?.completion_tokens;
  for (const [field, value] of Object.entries({ prompt_tokens: input, completion_tokens: output })) {
    if (value !== undefined && value !== null && !usable(value)) throw bad(field, value);
  }
  return usable(input) && usable(output) ? { inputTokens: input, outputTokens: output } : undefined;
}

/** Retry-After as milliseconds: `retry-after-ms`, then `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  if (!/GMT\s*$/.test(value)) return undefined; // an HTTP date ends in GMT; Date.parse accepts much else
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(date - now, 0);
}

function toOpenAIMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    if (m.role === 'assistant' && m.toolCall) {
      return {
        role: 'assistant',
        content: m.content || null,
        tool_calls: [
          {
            id: m.toolCall.id,
            type: 'function',
            function: { name: m.toolCall.name, arguments: m.toolCall.arguments },
          },
        ],
      };
    }
    if (m.role === 'tool') return { role: 'tool', content: m.content, tool_call_id: m.toolCallId ?? '' };
    return { role: m.role, content: m.content } as ChatCompletionMessageParam;
  });
}

/**
 * Any endpoint that speaks OpenAI's chat completions (OpenAI, Ollama, vLLM, LM Studio, OpenRouter…).
 * The client never retries by itself: the activity's retry policy owns retries, and errors carry
 * whether a retry can help and how long the server asked us to wait.
 */
export class OpenAICompatibleProvider implements ModelProvider {
  readonly name: string;
  private readonly client: OpenAI;
  private readonly timeoutMs: number;

  constructor(private readonly options: OpenAICompatibleOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey || 'no-key',
      maxRetries: 0,
      timeout: this.timeoutMs,
    });
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const action = request.mode === 'action';
    const tools: ChatCompletionTool[] | undefined = action
      ? request.tools.map((t) => ({
          type: 'function',
          function: { name: t.name, description: t.description, parameters: t.parameters },
        }))
      : undefined;
    const maxTokensField = this.options.maxTokensField ?? 'max_tokens';
    // The client's own timeout stops at the headers; a server trickling its body would hold the
    // step for ever. One deadline covers the whole exchange, and the activity's cancel still wins.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.client.chat.completions.create(
        {
          model: request.model,
          messages: toOpenAIMessages(request.messages),
          [maxTokensField]: request.maxOutputTokens,
          ...(tools?.length
            ? { tools, ...(this.options.toolChoice ? { tool_choice: this.options.toolChoice } : {}) }
            : {}),
        },
        { signal: AbortSignal.any([request.signal, deadline.signal]) },
      );
    } catch (err) {
      throw this.toFailure(err, request.signal, deadline.signal);
    } finally {
      clearTimeout(timer);
    }
    const choice = completion?.choices?.[0];
    if (!choice?.message) {
      throw this.failure(
        ErrorTypes.ProviderBadResponse,
        `${this.name} answered without a choice: ${this.excerpt(completion)}`,
      );
    }
    const usage = readUsage(completion.usage, (field, value) =>
      this.failure(
        ErrorTypes.ProviderBadResponse,
        `${this.name} reported impossible usage: usage.${field} = ${this.excerpt(value)}`,
      ),
    );
    const call = choice.message.tool_calls?.find((c) => c.type === 'function');
    return this.scrubbed({
      text: choice.message.content ?? undefined,
      toolCall:
        call && call.type === 'function'
          ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
          : undefined,
      usage,
      provider: this.name,
      model: completion.model || request.model,
      ...(typeof completion.id === 'string' && completion.id
        ? { responseId: boundedText(completion.id, 200) }
        : {}),
    });
  }

  /**
   * The answer with the key (and every other secret) scrubbed from each text in it, before anything
   * stores it, logs it or feeds it back to the model; `redacted` names the fields that carried one.
   */
  private scrubbed(response: ModelResponse): ModelResponse {
    const redacted: string[] = [];
    const clean = (field: string, text: string | undefined): string | undefined => {
      if (text === undefined) return undefined;
      const out = this.redact(text);
      if (out !== text) redacted.push(field);
      return out;
    };
    const { toolCall } = response;
    const out: ModelResponse = {
      ...response,
      text: clean('text', response.text),
      toolCall: toolCall && {
        id: clean('toolCall.id', toolCall.id)!,
        name: clean('toolCall.name', toolCall.name)!,
        arguments: clean('toolCall.arguments', toolCall.arguments)!,
      },
      model: clean('model', response.model)!,
      ...(response.responseId ? { responseId: clean('responseId', response.responseId) } : {}),
    };
    return redacted.length ? { ...out, redacted } : out;
  }

  private redact(text: string): string {
    return redactSecrets(text, [this.options.apiKey, ...(this.options.secrets ?? [])]);
  }

  /** A short piece of what the server sent, redacted before it is cut (a cut could split a key). */
  private excerpt(value: unknown): string {
    return this.redact(JSON.stringify(value) ?? String(value)).slice(0, 200);
  }

  /** Every failure goes through here: a server may echo the key back, and the text reaches history. */
  private failure(type: ErrorType, message: string, nextRetryDelay?: number): Error {
    const text = this.redact(message);
    return failure(type, text, nextRetryDelay === undefined ? {} : { nextRetryDelay });
  }

  private toFailure(err: unknown, signal: AbortSignal, deadline: AbortSignal): Error {
    // Temporal's abort reason is a CancelledFailure: rethrowing it reports the activity as cancelled.
    if (signal.aborted) return signal.reason instanceof Error ? signal.reason : (err as Error);
    if (deadline.aborted || err instanceof OpenAI.APIConnectionTimeoutError) {
      return this.failure(
        ErrorTypes.ProviderTimeout,
        `${this.name} took longer than ${this.timeoutMs} ms to answer`,
      );
    }
    // No `cause`: its text would reach history unredacted.
    if (err instanceof OpenAI.APIConnectionError) {
      const why = err.cause instanceof Error ? ` (${err.cause.message})` : '';
      return this.failure(ErrorTypes.ProviderUnavailable, `${this.name} unreachable: ${err.message}${why}`);
    }
    if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
      const message = `${this.name} answered HTTP ${err.status}: ${err.message}`;
      if (!isRetryableHttpStatus(err.status)) return this.failure(ErrorTypes.ProviderRejected, message);
      return this.failure(ErrorTypes.ProviderUnavailable, message, retryAfterMs(err.headers));
    }
    const message = err instanceof Error ? err.message : String(err);
    return this.failure(ErrorTypes.ProviderBadResponse, `${this.name} gave an unreadable answer: ${message}`);
  }
}
