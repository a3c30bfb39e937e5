import { ActivityFailure, ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { ModelRoute, ToolDescriptor } from '../shared/types';
import type { ModelStepOutput } from './contract';
import { actionDigest } from '../policies/approval';
import {
  costOfUsage,
  FINISH_SCHEMA_BYTES,
  maxInputTokens,
  promptBytesBound,
  reserveModelCall,
  roundUsd,
} from '../policies/budget';
import { chooseModelRoutes } from '../policies/routing';
import { mayHaveBeenBilled, StopTask } from './failures';
import { callModel, MODEL_OPTIONS, TRANSCRIPT_INLINE_BYTES } from './options';
import { reserveShared } from './spend';
import type { TaskContext } from './taskContext';
import { resultDigest } from './trail';
import type { TranscriptMessage } from './contract';

export type ProposedAction = { callId: string; tool: string; input: unknown };

/** Attempts of one route for one call, as the activity's own retry policy allows. */
const MODEL_ATTEMPTS = MODEL_OPTIONS.retry?.maximumAttempts ?? 4;

/** The activity did not retry (a paid call that may have been billed): retrying is the workflow's. */
function givenUpAtOnce(err: unknown): boolean {
  let cause = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  return cause instanceof ApplicationFailure && cause.nonRetryable === true;
}

/** The action's digest; an action too deep or large to encode stops the task instead of wedging it. */
export function digestOf(action: { tool: string; input: unknown }): string {
  try {
    return actionDigest(action);
  } catch (err) {
    throw new StopTask('invalid_output', `the action on ${action.tool} cannot be recorded: ${String(err)}`);
  }
}

/**
 * Asks for an action until one validates; invalid output is fed back (appended to `conversation`)
 * a bounded number of times.
 */
export async function proposeAction(
  task: TaskContext,
  conversation: TranscriptMessage[],
  tools: ToolDescriptor[],
  allowFinish: boolean,
): Promise<ProposedAction> {
  const { carried, spec } = task;
  const isTranscript = conversation === carried.transcript;
  for (;;) {
    const out = await askModel(task, {
      messages: conversation,
      mode: 'action',
      tools,
      allowFinish,
      isTranscript,
    });
    if (out.action) {
      task.audit('action.proposed', { tool: out.action.tool, digest: digestOf(out.action) });
      return out.action;
    }
    const invalid = out.invalid ?? { raw: '', error: 'the model gave no action' };
    carried.invalidOutputs++;
    task.audit('action.invalid', { error: invalid.error, count: carried.invalidOutputs });
    if (carried.invalidOutputs > spec.limits.maxInvalidOutputs) {
      throw new StopTask(
        'invalid_output',
        `the model gave ${carried.invalidOutputs} invalid actions; last: ${invalid.error}`,
      );
    }
    const feedback = `Your last answer was not a valid action: ${invalid.error}. Answer with one valid tool call.`;
    conversation.push({ role: 'assistant', content: [invalid.raw] }, { role: 'user', content: [feedback] });
  }
}

/**
 * One model call with routing and budget: candidates allowed for the transcript's data class, best
 * first; each is reserved for its worst case before it starts and settled from real usage after.
 * The free loop's transcript (`isTranscript`) is sent as its blob-stored base plus the messages
 * since; when those grow large the activity stores them all and the base moves forward, so history
 * does not repeat the whole conversation at every step.
 */
export async function askModel(
  task: TaskContext,
  request: {
    messages: TranscriptMessage[];
    mode: 'action' | 'text';
    tools: ToolDescriptor[];
    allowFinish: boolean;
    maxOutputTokens?: number;
    isTranscript?: boolean;
  },
): Promise<ModelStepOutput> {
  const { carried, spec } = task;
  const { messages, mode, tools, allowFinish } = request;
  const stepMaxOutputTokens = request.maxOutputTokens ?? spec.limits.maxOutputTokens;
  const transcriptBase = request.isTranscript ? carried.transcriptBase : undefined;
  const { dataClass, health } = carried;
  const routes = chooseModelRoutes(spec.models, dataClass, spec.policy, spec.preference, health);
  if (routes.length === 0) throw new StopTask('no_route', `no model may see ${dataClass} data`);
  const inputTokensBound = maxInputTokens(
    promptBytesBound({ transcriptBase, messages, tools }) + (allowFinish ? FINISH_SCHEMA_BYTES : 0),
    messages.length + tools.length + 1,
  );
  let sharedDenial: string | undefined;
  const unpriced: string[] = [];
  // A call that may have been billed is tried again here, each attempt under its own reservation
  // (the activity does not retry it under one): the route comes again right after the attempt.
  const candidates = [...routes];
  const attempts: Record<string, number> = {};
  let at = -1;
  const outcome = await task.tryEach(candidates, { type: 'model', name: 'callModel' }, async (route) => {
    at++;
    const position = at;
    const attempt = (attempts[route.id] = (attempts[route.id] ?? 0) + 1);
    const { price } = route;
    if (!price) {
      unpriced.push(route.id);
      task.audit('route.unpriced', { route: route.id });
      return { skip: true }; // an unknown price is not a free one
    }
    const remaining = spec.limits.budgetUsd - carried.spendUsd;
    const reservation = reserveModelCall(price, remaining, inputTokensBound, stepMaxOutputTokens);
    if (!reservation) return { skip: true };
    // the shared daily caps: a route they cannot afford is skipped, so a cheaper one is tried next
    const tokens = inputTokensBound + reservation.maxOutputTokens;
    const key = attempt === 1 ? route.id : `${route.id}#${attempt}`;
    const hold = await reserveShared(task, key, reservation.reservedUsd, tokens);
    if (hold && 'denied' in hold) {
      sharedDenial = hold.denied;
      task.audit('budget.denied', { route: route.id, reason: hold.denied });
      return { skip: true };
    }
    return {
      run: async () => {
        const step = task.beginStep(`model: ${route.model} via ${route.provider}`);
        const stepInput = {
          taskId: spec.taskId,
          step,
          route,
          transcriptBase,
          messages,
          mode,
          tools,
          allowFinish,
          maxOutputTokens: reservation.maxOutputTokens,
          compactAboveBytes: request.isTranscript ? TRANSCRIPT_INLINE_BYTES : undefined,
          // the activity signs what the call cost for these ledgers (they believe no unsigned discount)
          ...(hold ? { spend: { id: hold.id, accounts: hold.held } } : {}),
        };
        task.checkStepInput(`the model call of step ${step}`, stepInput);
        const out = await task.inStepScope(() =>
          callModel.executeWithOptions(
            {
              ...MODEL_OPTIONS,
              ...task.deadlineBound(),
              summary: `model: ${route.model} via ${route.provider}, step ${step}`,
            },
            [stepInput],
          ),
        );
        settleModelCall(task, route, out, reservation.reservedUsd, (costUsd) =>
          hold?.settle(
            costUsd,
            out.usage ? out.usage.inputTokens + out.usage.outputTokens : tokens,
            out.settlements,
          ),
        );
        return out;
      },
      onFailure: (err) => {
        if (mayHaveBeenBilled(err)) {
          chargeUnsettled(task, route.id, reservation.reservedUsd);
          hold?.settle(reservation.reservedUsd, tokens);
          if (attempt < MODEL_ATTEMPTS && givenUpAtOnce(err)) candidates.splice(position + 1, 0, route);
        } else {
          hold?.settle(0, 0);
        }
      },
    };
  });
  if ('ok' in outcome) {
    if (request.isTranscript && outcome.ok.transcriptBase) {
      carried.transcriptBase = outcome.ok.transcriptBase;
      messages.splice(0); // now in the blob store, behind the new base
    }
    return outcome.ok;
  }
  if (!outcome.affordable && unpriced.length === routes.length) {
    throw new StopTask(
      'no_route',
      `no model route has a known price (${unpriced.join(', ')}): set models[].price`,
    );
  }
  if (!outcome.affordable) {
    throw new StopTask(
      'budget_exhausted',
      sharedDenial ?? `no model call fits in the $${spec.limits.budgetUsd} budget`,
    );
  }
  throw new StopTask('provider_failure', `every model route failed; last error: ${task.lastError}`);
}

/** Charges a call its real cost (its reservation when the endpoint reported no usage), here and in the shared ledgers. */
function settleModelCall(
  task: TaskContext,
  route: ModelRoute,
  out: ModelStepOutput,
  reservedUsd: number,
  settleShared: (costUsd: number) => void,
): void {
  const { carried, spec } = task;
  const costUsd = roundUsd(out.usage && route.price ? costOfUsage(route.price, out.usage) : reservedUsd);
  carried.spendUsd = roundUsd(carried.spendUsd + costUsd);
  settleShared(costUsd);
  carried.health[route.id] = { consecutiveFailures: 0 };
  task.audit(
    'model.called',
    {
      route: route.id,
      provider: out.provider,
      model: out.model,
      usage: out.usage,
      reservedUsd: roundUsd(reservedUsd),
      costUsd,
      ...(out.redacted ? { redacted: out.redacted } : {}),
    },
    {
      actor: { agent: spec.agent.name, principal: spec.principal },
      action: { type: 'model', 'gen_ai.request.model': route.model, activity: 'callModel' },
      route: {
        id: route.id,
        'gen_ai.provider.name': out.provider,
        'gen_ai.request.model': route.model,
        'gen_ai.response.model': out.model,
        ...(out.responseId ? { 'gen_ai.response.id': out.responseId } : {}),
        taskQueue: workflowInfo().taskQueue,
        ...(out.worker ? { worker: out.worker } : {}),
      },
      dataRef: { classes: [carried.dataClass] },
      outcome: { ok: true, resultDigest: resultDigest(out) },
      ...(out.usage
        ? {
            usage: {
              'gen_ai.usage.input_tokens': out.usage.inputTokens,
              'gen_ai.usage.output_tokens': out.usage.outputTokens,
            },
          }
        : {}),
      cost: { usd: costUsd, basis: out.usage ? 'billed' : 'reserved' },
    },
  );
  task.updateSearchAttributes();
  if (carried.spendUsd > spec.limits.budgetUsd) {
    // only a provider that bills past the token limit it was given can get here
    task.audit('budget.overrun', { route: route.id, costUsd, reservedUsd: roundUsd(reservedUsd) });
    throw new StopTask('budget_exhausted', `${route.id} billed $${costUsd}, over its reservation`);
  }
}

/**
 * A call that failed after the provider may have done the work (it answered, or ran out of time
 * while generating) is charged its reservation: spend is never under-counted.
 */
function chargeUnsettled(task: TaskContext, routeId: string, reservedUsd: number): void {
  const costUsd = roundUsd(reservedUsd);
  task.carried.spendUsd = roundUsd(task.carried.spendUsd + costUsd);
  task.audit('model.charged_unsettled', { route: routeId, costUsd });
  task.updateSearchAttributes();
}
