import { workerIdentity } from './identity';
import type { Attributes, Span } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FINISH_TOOL, type ContentParts, type ToolDescriptor } from '../shared/types';
import { canonicalJson } from '../audit/canonicalJson';
import { boundedText, ErrorTypes, failure } from '../errors';
import { signSettle, type LedgerSignature, type SigningKey } from '../audit/ledgerSigning';
import { costOfUsage, maxInputTokens, roundUsd, utf8Length } from '../policies/budget';
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
  /** The install's key: it signs what a call cost for the spend ledgers that reserved it. */
  auditKey?: SigningKey;
}

/** A model step, and the ledger reservation (`id` in each of `accounts`) whose real cost it signs. */
export type ModelCallInput = ModelStepInput & { spend?: { id: string; accounts: string[] } };
/** The step's output; `settlements`: the signed cost per ledger account, when usage priced it. */
export type ModelCallOutput = ModelStepOutput & { settlements?: Record<string, LedgerSignature> };

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

export function createModelActivity({ providers, tools, blobs, tracing, auditKey }: ModelActivityDeps) {
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

  return (input: ModelCallInput): Promise<ModelCallOutput> =>
    inSpan(tracing, `chat ${input.route.model}`, chatAttributes(input), (span) => callModel(input, span));

  /** What the call cost, signed for each ledger that holds its reservation (none without usage or a key). */
  function settlements(input: ModelCallInput, usage: ModelResponse['usage']): ModelCallOutput['settlements'] {
    if (!input.spend || !usage || !input.route.price || !auditKey) return undefined;
    const { id, accounts } = input.spend;
    // the same figures the workflow charges (modelStep's settleModelCall), so the signature matches
    const usd = roundUsd(costOfUsage(input.route.price, usage));
    const tokens = usage.inputTokens + usage.outputTokens;
    return Object.fromEntries(accounts.map((a) => [a, signSettle(auditKey, a, { id, usd, tokens })]));
  }

  async function callModel(input: ModelCallInput, span: Span | undefined): Promise<ModelCallOutput> {
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
        let response: ModelResponse;
        try {
          response = await provider.complete({
            messages,
            mode: input.mode,
            tools: specs,
            model: input.route.model,
            maxOutputTokens: input.maxOutputTokens,
            signal: Context.current().cancellationSignal,
            onProgress: (info) => beat(info),
          });
          checkUsage(response, messages, specs, input.maxOutputTokens);
        } catch (err) {
          throw notRetriedWhenBilled(err, input.route);
        }
        span?.setAttributes(responseAttributes(input, response));
        setContent(span, tracing, 'gen_ai.output.messages', [
          semconvMessage({ role: 'assistant', content: response.text ?? '', toolCall: response.toolCall }),
        ]);
        const base = {
          provider: response.provider,
          model: response.model,
          usage: response.usage ?? null,
          ...(response.responseId ? { responseId: response.responseId } : {}),
          // which fields of the answer held a registered secret (scrubbed by the provider): audited
          ...(response.redacted?.length ? { redacted: response.redacted } : {}),
          worker: workerIdentity,
          ...(await compactedWith(blobs, input, conversation)),
        };
        const signed = settlements(input, response.usage);
        if (signed) Object.assign(base, { settlements: signed });
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

/**
 * Usage nobody could have produced is a bad response, as negative usage is (the provider checks that):
 * more prompt tokens than the request's bytes and framing bound (byte-level tokenizers never emit
 * more tokens than bytes, as the reservation assumes), or more completion tokens than max_tokens. The
 * workflow charges such a call its reservation and counts it against the route's health.
 */
function checkUsage(response: ModelResponse, messages: ChatMessage[], specs: ToolSpec[], maxOutput: number) {
  const usage = response.usage;
  if (!usage) return;
  const bytes = utf8Length(JSON.stringify(messages)) + utf8Length(JSON.stringify(specs));
  const inputBound = maxInputTokens(bytes, messages.length + specs.length + 1);
  const problem =
    usage.inputTokens > inputBound
      ? `${usage.inputTokens} prompt tokens for a request that can hold at most ${inputBound}`
      : usage.outputTokens > maxOutput
        ? `${usage.outputTokens} completion tokens where max_tokens was ${maxOutput}`
        : undefined;
  if (problem)
    throw failure(
      ErrorTypes.ProviderBadResponse,
      `${response.provider} reported impossible usage: ${problem}`,
    );
}

/**
 * A paid call that may have been billed (a bad response, a timeout) is not retried by Temporal: its
 * retries would all run under the one reservation the workflow made. The workflow charges it and
 * tries again with a new reservation, so every attempt is reserved before and charged after.
 */
function notRetriedWhenBilled(err: unknown, route: ModelCallInput['route']): unknown {
  const paid = !!route.price && (route.price.inputPerMTok > 0 || route.price.outputPerMTok > 0);
  const billable =
    err instanceof ApplicationFailure &&
    (err.type === ErrorTypes.ProviderBadResponse || err.type === ErrorTypes.ProviderTimeout);
  if (!paid || !billable || err.nonRetryable) return err;
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: true,
    details: err.details ?? undefined,
  });
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
