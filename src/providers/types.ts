/**
 * One interface for every model: the embedded local model, and any OpenAI-compatible endpoint.
 * The workflow never sees a provider; the model activity picks one by route id and calls `complete`.
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** On an assistant message: the tool call it made. */
  toolCall?: { id: string; name: string; arguments: string };
  /** On a tool message: the call it answers. */
  toolCallId?: string;
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the tool's input (an object schema). */
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  messages: ChatMessage[];
  /** `action`: the answer must be one call of one of `tools`. `text`: free text. */
  mode: 'action' | 'text';
  tools: ToolSpec[];
  maxOutputTokens: number;
  /** The model to ask, as the route names it (a provider may serve several). */
  model: string;
  /** Aborted when the activity is cancelled; providers must stop generating. */
  signal: AbortSignal;
  /** Called while the provider works (tokens arriving, queue waiting), so the activity can heartbeat. */
  onProgress?: (info: { outputTokens?: number }) => void;
}

export type { TokenUsage } from '../shared/types';
import type { TokenUsage } from '../shared/types';

export interface ModelResponse {
  /** Text the model wrote (mode `text`, or a plain answer in mode `action`). */
  text?: string;
  /** The tool call the model proposed; `arguments` is the raw JSON text, validated by the caller. */
  toolCall?: { id: string; name: string; arguments: string };
  /** Absent when the endpoint does not report usage; the step is then charged its reservation. */
  usage?: TokenUsage;
  /** Who actually answered (an endpoint may route to another model). */
  provider: string;
  model: string;
  /** The provider's id for this response (`chatcmpl-…`), when it gives one. */
  responseId?: string;
  /** The fields a secret (the API key) was scrubbed from before the answer left the provider. */
  redacted?: string[];
}

export interface ModelProvider {
  /** The provider's name in config (`embedded`, `openai`, `ollama`…). */
  readonly name: string;
  complete(request: ModelRequest): Promise<ModelResponse>;
  /** Frees resources (a loaded model, sockets). */
  close?(): Promise<void>;
}
