import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { ErrorTypes, failure, isRetryableHttpStatus } from '../errors';
import type { ChatMessage, ModelProvider, ModelRequest, ModelResponse } from './types';

export interface OpenAICompatibleOptions {
  name: string;
  baseURL: string;
  apiKey?: string;
  /** Per-request timeout; the activity's own timeouts bound the whole step. */
  timeoutMs?: number;
  /** Sent as `tool_choice` in action mode when set (some servers reject `required`). */
  toolChoice?: 'auto' | 'required';
  /** Send `max_completion_tokens` (OpenAI's current name) instead of `max_tokens`. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/** Usage only when both counts are real numbers; otherwise the step is charged its reservation. */
function readUsage(usage: { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined) {
  const input = usage?.prompt_tokens;
  const output = usage?.completion_tokens;
  return typeof input === 'number' &&
    Number.isFinite(input) &&
    typeof output === 'number' &&
    Number.isFinite(output)
    ? { inputTokens: input, outputTokens: output }
    : undefined;
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

  constructor(private readonly options: OpenAICompatibleOptions) {
    this.name = options.name;
    this.client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey || 'no-key',
      maxRetries: 0,
      timeout: options.timeoutMs ?? 120_000,
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
        { signal: request.signal },
      );
    } catch (err) {
      throw this.toFailure(err, request.signal);
    }
    const choice = completion?.choices?.[0];
    if (!choice?.message) {
      throw failure(
        ErrorTypes.ProviderBadResponse,
        `${this.name} answered without a choice: ${JSON.stringify(completion).slice(0, 200)}`,
      );
    }
    const call = choice.message.tool_calls?.find((c) => c.type === 'function');
    return {
      text: choice.message.content ?? undefined,
      toolCall:
        call && call.type === 'function'
          ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
          : undefined,
      usage: readUsage(completion.usage),
      provider: this.name,
      model: completion.model || request.model,
    };
  }

  private toFailure(err: unknown, signal: AbortSignal): Error {
    // Temporal's abort reason is a CancelledFailure: rethrowing it reports the activity as cancelled.
    if (signal.aborted) return signal.reason instanceof Error ? signal.reason : (err as Error);
    if (err instanceof OpenAI.APIConnectionError) {
      return failure(ErrorTypes.ProviderUnavailable, `${this.name} unreachable: ${err.message}`, {
        cause: err,
      });
    }
    if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
      const message = `${this.name} answered HTTP ${err.status}: ${err.message}`;
      if (!isRetryableHttpStatus(err.status)) return failure(ErrorTypes.ProviderRejected, message);
      const delay = retryAfterMs(err.headers);
      return failure(
        ErrorTypes.ProviderUnavailable,
        message,
        delay === undefined ? {} : { nextRetryDelay: delay },
      );
    }
    const message = err instanceof Error ? err.message : String(err);
    return failure(ErrorTypes.ProviderBadResponse, `${this.name} gave an unreadable answer: ${message}`);
  }
}
