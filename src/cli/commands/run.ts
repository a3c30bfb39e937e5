import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { resolveTaskSpec } from '../../policies/taskSpec';
import { currentPolicyFile } from '../../activities/task';
import type { AgentDefinition } from '../../agents/definition';
import { currentUser, type LoadedConfig } from '../../config/load';
import { newTaskId } from '../../runtime/client';
import { agentRegistry, declaredTools } from '../../runtime/localStack';
import type { TaskState } from '../../workflows/contract';
import { refusalReason, resolvedInput } from '../approval';
import { defineCommand, note, say, UsageError } from '../command';
import { approvalText, progressLine, resultText, uiLink } from '../format';
import { connect, connectOrEmbed, withSession, type Session } from '../session';

export const run = defineCommand({
  name: 'run',
  synopsis: '<agent> [--input FILE | --input-json JSON] [--as PRINCIPAL] [--detach] [--interactive]',
  summary: 'start a task and follow it; asks for approval in a terminal',
  details:
    'Uses TEMPORAL_ADDRESS, else a running `steward dev`, else starts an embedded server and a worker\n' +
    'in this process (not with --detach). `steward agents` lists the agents.',
  args: ['agent'],
  options: {
    input: { type: 'string', value: 'FILE', description: "the task's input, a JSON file" },
    'input-json': { type: 'string', value: 'JSON', description: "the task's input as JSON text" },
    as: { type: 'string', value: 'PRINCIPAL', description: 'on whose behalf the task runs (default: you)' },
    detach: { type: 'boolean', description: 'start the task, print its id and return' },
    interactive: { type: 'boolean', description: 'ask for approval here even when stdin is not a terminal' },
  },
  async run({ config, args: [agentName], options }) {
    if (!agentName) throw new UsageError('run needs an agent name; `steward agents` lists them');
    const agents = agentRegistry(config); // the worker's list: run knows what the worker knows
    const agent = agents.get(agentName);
    const principal = options.as ?? currentUser();
    const request = { agent: agent.name, input: readInput(options), principal };
    // The worker resolves and checks the request again; checking here first gives a prompt error.
    const policyFile = currentPolicyFile(config);
    const spec = resolveTaskSpec(
      config,
      agents,
      declaredTools(config),
      newTaskId(agent.name),
      request,
      policyFile,
    );
    warnIfModelsTooSmall(config, agent);

    return withSession(options.detach ? connect(config) : connectOrEmbed(config), async (session) => {
      const started = Date.now();
      await session.client.start({ ...request, taskId: spec.taskId, description: agent.description });
      say(`task ${spec.taskId} · agent ${agent.name} for ${principal}`);
      const link = uiLink(session.uiUrl, config.temporal.namespace, spec.taskId);
      if (link) say(`Temporal UI: ${link}`);
      if (options.detach) return 0;

      const interactive = Boolean(options.interactive || process.stdin.isTTY);
      const result = await follow(config, session, spec.taskId, interactive);
      say(resultText(result, (Date.now() - started) / 1000));
      return result.status === 'completed' ? 0 : 1;
    });
  },
});

function readInput(options: { input?: string; 'input-json'?: string }): unknown {
  if (options['input-json'] !== undefined) {
    try {
      return JSON.parse(options['input-json']);
    } catch (err) {
      throw new UsageError(`--input-json is not JSON: ${(err as Error).message}`);
    }
  }
  if (options.input !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.input, 'utf8');
    } catch {
      throw new UsageError(`cannot read --input ${options.input}`);
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new UsageError(`--input ${options.input} is not JSON: ${(err as Error).message}`);
    }
  }
  return undefined;
}

function warnIfModelsTooSmall(config: LoadedConfig, agent: AgentDefinition): void {
  if (!agent.minimumModel) return;
  const best = Math.max(...config.models.map((m) => m.parametersB ?? 0));
  if (best < agent.minimumModel.parametersB) {
    note(
      `warning: agent ${agent.name} needs a model of at least ${agent.minimumModel.parametersB}B parameters because ${agent.minimumModel.why};` +
        ` the configured models go up to ${best || 'an unknown size'}B. Expect poor choices; configure a larger model (README: Models).`,
    );
  }
}

/**
 * Prints the task's progress until it ends; asks for each approval once (in the terminal if
 * interactive). The question does not hold the task up: progress keeps arriving, and a decision made
 * elsewhere (another terminal, the API, the review lane) or the task's end withdraws it.
 */
async function follow(config: LoadedConfig, session: Session, taskId: string, interactive: boolean) {
  const asked = new Set<string>();
  let open: { id: string; question: AbortController } | undefined;
  const withdraw = (why: string): void => {
    if (!open) return;
    open.question.abort();
    open = undefined;
    say(`\n    ${why}`);
  };
  try {
    return await session.client.follow(taskId, async (state: TaskState, entries) => {
      for (const entry of entries) {
        const line = progressLine(entry, state.spendUsd);
        if (line) say(line);
      }
      const pending = state.pendingApproval;
      if (open && pending?.id !== open.id) withdraw('decided elsewhere; no answer needed here');
      if (!pending || asked.has(pending.id)) return;
      asked.add(pending.id);
      say(approvalText(state, await resolvedInput(config, state)));
      const identity = currentUser(); // the person at the terminal, who may differ from the principal
      if (!interactive) {
        say(`    waiting; decide with: steward approve ${taskId} --as <identity>   (or steward reject …)`);
        return;
      }
      const question = new AbortController();
      open = { id: pending.id, question };
      void askApproval(identity, question.signal).then(async (answer) => {
        if (!answer) return; // withdrawn
        open = undefined;
        await answerApproval(session, taskId, pending, identity, answer);
      });
    });
  } finally {
    withdraw('the task has ended; no answer needed');
  }
}

async function answerApproval(
  session: Session,
  taskId: string,
  pending: { id: string; digest: string },
  identity: string,
  answer: 'approve' | 'reject' | 'skip',
): Promise<void> {
  if (answer === 'skip') {
    say(`    waiting; decide with: steward approve ${taskId} --as <identity>`);
    return;
  }
  try {
    const reason = answer === 'reject' ? 'rejected in the terminal' : 'approved in the terminal';
    await session.client.decide(taskId, {
      identity,
      decision: answer,
      reason,
      approvalId: pending.id,
      digest: pending.digest,
    });
    say(`    ${answer === 'approve' ? 'approved' : 'rejected'} as ${identity}`);
  } catch (err) {
    say(`    refused: ${refusalReason(err as Error)}`);
    say(`    decide with: steward approve ${taskId} --as <identity>`);
  }
}

/** The answer at the terminal, or undefined when the question was withdrawn. */
async function askApproval(
  identity: string,
  signal: AbortSignal,
): Promise<'approve' | 'reject' | 'skip' | undefined> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (
      await rl.question(`  Approve as ${identity}? [y]es / [n]o, reject / [s]kip and wait: `, { signal })
    )
      .trim()
      .toLowerCase();
    if (answer === 'y' || answer === 'yes') return 'approve';
    if (answer === 'n' || answer === 'no') return 'reject';
    return 'skip';
  } catch (err) {
    if (signal.aborted) return undefined;
    throw err;
  } finally {
    rl.close();
  }
}
