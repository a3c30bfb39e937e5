import { workerIdentity } from './identity';
import type { Attributes, Span } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { FINISH_TOOL, type ContentParts, type ToolDescriptor } from '../shared/types';
import { canonicalJson } from '../audit/canonicalJson';
import { boundedText, ErrorTypes, failure } from '../errors';
import { costOfUsage, roundUsd } from '../policies/budget';
import type { BlobStore } from '../stores/blobStore';
import type { ToolRegistry } from '../tools/registry';
import type { ChatMessage, ModelProvider, ModelResponse, ToolSpec } from '../providers/types';
import { withHeartbeat } from './heartbeat';
import { inSpan, setContent, type ActivityTracing } from './trace';
import type { ModelStepInput, ModelStepOutput } from '../workflows/contract';
import type { TranscriptMessage } from '../workflows/contract';

export interface ModelActivityDeps {
  providers: Map<string, ModelProvider>;
  tools: ToolRegistry;
  blobs: BlobStore;
  /** Set when telemetry is on: each call is a `chat {model}` span. */
  tracing?: ActivityTracing;
}

/** Longer tool-call arguments are refused as invalid output, before they are parsed. */
export const MAX_ACTION_ARGUMENT_CHARS = 1024 * 1024;
/** Deeper arguments are refused: nothing a tool takes needs more, and the audit must encode them. */
export const MAX_ACTION_DEPTH = 32;
/** What of an invalid answer is fed back to the model and kept in history. */
const MAX_INVALID_RAW_CHARS = 2000;

const FINISH_SCHEMA = z.object({ result: z.string().describe('the final answer') }).strict();
const FINISH_SPEC: ToolSpec = {
  name: FINISH_TOOL,
  description: 'End the task with its final result.',
  parameters: {
    type: 'object',
    properties: { result: { type: 'string' } },
    required: ['result'],
    additionalProperties: false,
  },
};

async function contentText(parts: ContentParts, blobs: BlobStore): Promise<string> {
  const texts = await Promise.all(
    parts.map(async (part) => {
      if (typeof part === 'string') return part;
      const value = await blobs.resolve('json' in part ? part.json : part);
      return typeof value === 'string' ? value : JSON.stringify(value);
    }),
  );
  return texts.join('');
}

function toToolSpec(tool: ToolDescriptor): ToolSpec {
  return { name: tool.name, description: tool.description, parameters: tool.inputSchema };
}

/** Stores the whole conversation as the caller's new transcript base once its inline part is large. */
async function compactedWith(blobs: BlobStore, input: ModelStepInput, conversation: TranscriptMessage[]) {
  if (
    !input.compactAboveBytes ||
    Buffer.byteLength(JSON.stringify(input.messages)) <= input.compactAboveBytes
  ) {
    return {};
  }
  return { transcriptBase: await blobs.putValue(conversation) };
}

export function createModelActivity({ providers, tools, blobs, tracing }: ModelActivityDeps) {
  /** Checks a proposed call against the tools this step offers and the tool's input schema. */
  async function validateCall(
    input: ModelStepInput,
    call: { id: string; name: string; arguments: string },
  ): Promise<Pick<ModelStepOutput, 'action' | 'invalid'>> {
    const invalid = async (error: string) => ({
      invalid: {
        callId: call.id,
        raw: boundedText(`${call.name}(${call.arguments})`, MAX_INVALID_RAW_CHARS),
        error: boundedText(error),
      },
    });
    if (call.arguments.length > MAX_ACTION_ARGUMENT_CHARS) {
      return invalid(
        `arguments of ${call.name} are ${call.arguments.length} characters, over the ${MAX_ACTION_ARGUMENT_CHARS} allowed`,
      );
    }
    let args: unknown;
    try {
      args = JSON.parse(call.arguments || '{}');
    } catch (err) {
      return invalid(`arguments of ${call.name} are not JSON (${(err as Error).message})`);
    }
    try {
      canonicalJson(args, { maxDepth: MAX_ACTION_DEPTH });
    } catch (err) {
      return invalid(`arguments of ${call.name} cannot be recorded (${(err as Error).message})`);
    }
    const offered = input.tools.map((t) => t.name);
    let schema: z.ZodType;
    if (call.name === FINISH_TOOL && input.allowFinish) schema = FINISH_SCHEMA;
    else if (offered.includes(call.name) && tools.get(call.name)) schema = tools.get(call.name)!.input;
    else
      return invalid(
        `there is no tool ${call.name}; choose one of ${[...offered, ...(input.allowFinish ? [FINISH_TOOL] : [])].join(', ')}`,
      );
    const parsed = schema.safeParse(args);
    if (!parsed.success) return invalid(`input of ${call.name} is invalid: ${z.prettifyError(parsed.error)}`);
    // Large arguments (a file's content) go to the blob store: history carries their hash.
    const actionInput = await blobs.externalize(parsed.data);
    return { action: { callId: boundedText(call.id, 100), tool: call.name, input: actionInput } };
  }

  return (input: ModelStepInput): Promise<ModelStepOutput> =>
    inSpan(tracing, `chat ${input.route.model}`, chatAttributes(input), (span) => callModel(input, span));

  async function callModel(input: ModelStepInput, span: Span | undefined): Promise<ModelStepOutput> {
    const provider = providers.get(input.route.provider);
    if (!provider) {
      throw failure(
        ErrorTypes.NotRegistered,
        `no model provider ${input.route.provider} on this worker (${[...providers.keys()].join(', ')})`,
      );
    }
    return withHeartbeat(
      async (beat) => {
        const earlier = input.transcriptBase
          ? ((await blobs.getValue(input.transcriptBase)) as TranscriptMessage[])
          : [];
        const conversation = [...earlier, ...input.messages];
        const messages: ChatMessage[] = await Promise.all(
          conversation.map(async (m) => ({
            role: m.role,
            content: await contentText(m.content, blobs),
            toolCall: m.toolCall,
            toolCallId: m.toolCallId,
          })),
        );
        const specs = input.mode === 'action' ? input.tools.map(toToolSpec) : [];
        if (input.mode === 'action' && input.allowFinish) specs.push(FINISH_SPEC);
        setContent(span, tracing, 'gen_ai.input.messages', messages.map(semconvMessage));
        const response = await provider.complete({
          messages,
          mode: input.mode,
          tools: specs,
          model: input.route.model,
          maxOutputTokens: input.maxOutputTokens,
          signal: Context.current().cancellationSignal,
          onProgress: (info) => beat(info),
        });
        span?.setAttributes(responseAttributes(input, response));
        setContent(span, tracing, 'gen_ai.output.messages', [
          semconvMessage({ role: 'assistant', content: response.text ?? '', toolCall: response.toolCall }),
        ]);
        const base = {
          provider: response.provider,
          model: response.model,
          usage: response.usage ?? null,
          ...(response.responseId ? { responseId: response.responseId } : {}),
          worker: workerIdentity,
          ...(await compactedWith(blobs, input, conversation)),
        };
        if (input.mode === 'text')
          return { ...base, text: (await blobs.externalize(response.text ?? '')) as string };
        if (response.toolCall) return { ...base, ...(await validateCall(input, response.toolCall)) };
        if (input.allowFinish && response.text?.trim()) {
          const result = await blobs.externalize(response.text);
          return { ...base, action: { callId: `call-${input.step}`, tool: FINISH_TOOL, input: { result } } };
        }
        const raw = boundedText(response.text ?? '', MAX_INVALID_RAW_CHARS);
        return { ...base, invalid: { raw, error: 'the answer called no tool' } };
      },
      { immediately: true },
    );
  }
}

/** The GenAI semantic-convention attributes known before the call, and Steward's own. */
function chatAttributes(input: ModelStepInput): Attributes {
  return {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': input.route.provider,
    'gen_ai.request.model': input.route.model,
    'gen_ai.request.max_tokens': input.maxOutputTokens,
    'steward.task.id': input.taskId,
    'steward.step': input.step,
    'steward.route.id': input.route.id,
  };
}

/** What the provider answered: the model that did, the response's id, token usage and its cost. */
function responseAttributes(input: ModelStepInput, response: ModelResponse): Attributes {
  const { usage, responseId } = response;
  const price = input.route.price;
  return {
    'gen_ai.response.model': response.model,
    ...(responseId ? { 'gen_ai.response.id': responseId } : {}),
    ...(usage
      ? { 'gen_ai.usage.input_tokens': usage.inputTokens, 'gen_ai.usage.output_tokens': usage.outputTokens }
      : {}),
    // what the workflow charges (an answer without usage is charged its reservation, there)
    ...(usage && price ? { 'steward.cost_usd': roundUsd(costOfUsage(price, usage)) } : {}),
  };
}

/** A message in the shape of the GenAI conventions' `gen_ai.*.messages` (a role and parts). */
function semconvMessage(message: ChatMessage) {
  const parts: Record<string, unknown>[] = [];
  if (message.role === 'tool')
    parts.push({ type: 'tool_call_response', id: message.toolCallId, response: message.content });
  else if (message.content) parts.push({ type: 'text', content: message.content });
  if (message.toolCall)
    parts.push({
      type: 'tool_call',
      id: message.toolCall.id,
      name: message.toolCall.name,
      arguments: message.toolCall.arguments,
    });
  return { role: message.role, parts };
}
