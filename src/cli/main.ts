import { createInterface } from 'node:readline/promises';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentRegistry, UnknownAgent } from '../agents';
import { AgentDefinitionError } from '../agents/validate';
import { ConfigError, currentUser, loadConfig, type LoadedConfig } from '../config/load';
import { resolveTaskSpec, TaskRefused } from '../activities/taskSpec';
import { ensureModel } from '../weights';
import { newTaskId, StewardClient, TaskNotFound } from '../runtime/client';
import { portOrFree } from '../runtime/devServer';
import {
  blobStoreFor,
  findServer,
  runWorkers,
  startEmbeddedServer,
  stopOrphanedServer,
  toolRegistry,
  type Workers,
} from '../runtime/localStack';
import { getLogger } from '../runtime/logger';
import { installTemporalRuntime } from '../runtime/temporalRuntime';
import { TemporalCliMissing } from '../runtime/temporalCli';
import type { TaskState } from '../workflows/contract';
import {
  approvalText,
  listText,
  modelProgressPrinter,
  progressLine,
  resultText,
  stateText,
  uiLink,
} from './format';

const USAGE = `steward: run AI agent tasks as durable, controlled, auditable Temporal workflows

Usage:
  steward dev [--port N] [--ui-port N]       embedded Temporal server + worker + compute node; prints the UI address
  steward worker [--no-compute]              a worker for the steward queue (and the configured compute nodes)
  steward node --id ID                       a compute node worker only
  steward run <agent> [--input FILE | --input-json JSON] [--as PRINCIPAL] [--detach] [--interactive]
                                             start a task and follow it; asks for approval in a terminal
  steward approve <taskId> --as IDENTITY [--reason TEXT]
  steward reject <taskId> --as IDENTITY [--reason TEXT]
  steward cancel <taskId> [--as IDENTITY] [--reason TEXT]
  steward status <taskId> [--json]
  steward list
  steward agents                             the agents this install knows
  steward models pull                        fetch and verify the embedded model's weights

Connection: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, else a running 'steward dev', else (dev, run) an
embedded server. Config: STEWARD_CONFIG or ./steward.yaml.`;

class UsageError extends Error {}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

type Options = Record<string, string | boolean | undefined>;

function parse(argv: string[]): { positionals: string[]; options: Options } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      'input-json': { type: 'string' },
      as: { type: 'string' },
      reason: { type: 'string' },
      port: { type: 'string' },
      'ui-port': { type: 'string' },
      id: { type: 'string' },
      detach: { type: 'boolean' },
      interactive: { type: 'boolean' },
      json: { type: 'boolean' },
      'no-compute': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return { positionals, options: values };
}

function requireString(options: Options, name: string, what: string): string {
  const value = options[name];
  if (typeof value !== 'string' || !value) throw new UsageError(`${what} needs --${name}`);
  return value;
}

function numberOption(options: Options, name: string): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535)
    throw new UsageError(`--${name} must be a port number, got ${String(value)}`);
  return n;
}

/** A session with a server: an existing one, or (for dev and run) an embedded one with its own worker. */
interface Session {
  client: StewardClient;
  uiUrl?: string;
  close(): Promise<void>;
}

async function connect(config: LoadedConfig): Promise<Session> {
  const server = findServer(config);
  if (!server) {
    throw new UsageError('no Temporal server: start one with `steward dev` (or set TEMPORAL_ADDRESS)');
  }
  const client = await StewardClient.connect(
    server.address,
    config.temporal.namespace,
    config.temporal.taskQueue,
    blobStoreFor(config),
  );
  return { client, uiUrl: server.uiUrl, close: () => client.close() };
}

/** Starts the embedded server and the workers in this process, unless a server is already there. */
async function connectOrEmbed(config: LoadedConfig): Promise<Session> {
  if (findServer(config)) return connect(config);
  note('Starting the embedded Temporal dev server and a worker in this process…');
  installTemporalRuntime(getLogger(), 'ERROR');
  const server = await startEmbeddedServer(config, { report: note });
  let workers: Workers | undefined;
  try {
    workers = await runWorkers(config, server.address, getLogger(), {
      onModelProgress: modelProgressPrinter(),
    });
    const client = await StewardClient.connect(
      server.address,
      config.temporal.namespace,
      config.temporal.taskQueue,
      blobStoreFor(config),
    );
    return {
      client,
      uiUrl: server.uiUrl,
      async close() {
        await client.close();
        await workers?.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await workers?.stop();
    await server.stop();
    throw err;
  }
}

function readInput(options: Options): unknown {
  if (typeof options['input-json'] === 'string') {
    try {
      return JSON.parse(options['input-json']);
    } catch (err) {
      throw new UsageError(`--input-json is not JSON: ${(err as Error).message}`);
    }
  }
  if (typeof options.input === 'string') {
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

/**
 * The pending action's input with what the blob store holds put back, so an approver sees the
 * whole action the digest covers, not a preview. Where the blobs are not on this machine, the
 * references (with their sha256 and preview) are shown instead.
 */
async function resolvedInput(config: LoadedConfig, state: TaskState): Promise<unknown> {
  const input = state.pendingApproval!.action.input;
  return blobStoreFor(config)
    .resolve(input)
    .catch(() => input);
}

/** The validator's reason (not allowed, changed action…) is the cause of the update's failure. */
function refusalReason(err: Error): string {
  return err.cause instanceof Error ? err.cause.message : err.message;
}

async function askApproval(identity: string): Promise<'approve' | 'reject' | 'skip'> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await rl.question(`  Approve as ${identity}? [y]es / [n]o, reject / [s]kip and wait: `))
      .trim()
      .toLowerCase();
    if (answer === 'y' || answer === 'yes') return 'approve';
    if (answer === 'n' || answer === 'no') return 'reject';
    return 'skip';
  } finally {
    rl.close();
  }
}

async function run(config: LoadedConfig, positionals: string[], options: Options): Promise<number> {
  const agentName = positionals[0];
  if (!agentName) throw new UsageError('run needs an agent name; `steward agents` lists them');
  const agent = new AgentRegistry().get(agentName);
  const principal = typeof options.as === 'string' ? options.as : currentUser();
  const request = { agent: agent.name, input: readInput(options), principal };
  // The worker resolves and checks the request again; checking here first gives a prompt error.
  const spec = resolveTaskSpec(
    config,
    new AgentRegistry(),
    toolRegistry(config),
    newTaskId(agent.name),
    request,
  );

  if (agent.minimumModel) {
    const best = Math.max(...config.models.map((m) => m.parametersB ?? 0));
    if (best < agent.minimumModel.parametersB) {
      note(
        `warning: agent ${agent.name} needs a model of at least ${agent.minimumModel.parametersB}B parameters because ${agent.minimumModel.why};` +
          ` the configured models go up to ${best || 'an unknown size'}B. Expect poor choices; configure a larger model (README: Models).`,
      );
    }
  }

  const session = options.detach ? await connect(config) : await connectOrEmbed(config);
  try {
    const started = Date.now();
    await session.client.start({ ...request, taskId: spec.taskId, description: agent.description });
    say(`task ${spec.taskId} · agent ${agent.name} for ${principal}`);
    const link = uiLink(session.uiUrl, config.temporal.namespace, spec.taskId);
    if (link) say(`Temporal UI: ${link}`);
    if (options.detach) return 0;

    const interactive = Boolean(options.interactive || process.stdin.isTTY);
    const asked = new Set<string>();
    const result = await session.client.follow(spec.taskId, async (state, entries) => {
      for (const entry of entries) {
        const line = progressLine(entry, state.spendUsd);
        if (line) say(line);
      }
      const pending = state.pendingApproval;
      if (!pending || asked.has(pending.id)) return;
      asked.add(pending.id);
      say(approvalText(state, await resolvedInput(config, state)));
      const identity = currentUser(); // the person at the terminal, who may differ from the principal
      if (!interactive) {
        say(
          `    waiting; decide with: steward approve ${spec.taskId} --as <identity>   (or steward reject …)`,
        );
        return;
      }
      const answer = await askApproval(identity);
      if (answer === 'skip') {
        say(`    waiting; decide with: steward approve ${spec.taskId} --as <identity>`);
        return;
      }
      try {
        const reason = answer === 'reject' ? 'rejected in the terminal' : 'approved in the terminal';
        await session.client.decide(spec.taskId, {
          identity,
          decision: answer,
          reason,
          approvalId: pending.id,
          digest: pending.digest,
        });
        say(`    ${answer === 'approve' ? 'approved' : 'rejected'} as ${identity}`);
      } catch (err) {
        say(`    refused: ${refusalReason(err as Error)}`);
        say(`    decide with: steward approve ${spec.taskId} --as <identity>`);
      }
    });
    say(resultText(result, (Date.now() - started) / 1000));
    return result.status === 'completed' ? 0 : 1;
  } finally {
    await session.close();
  }
}

async function decide(
  config: LoadedConfig,
  decision: 'approve' | 'reject',
  positionals: string[],
  options: Options,
): Promise<number> {
  const taskId = positionals[0];
  if (!taskId) throw new UsageError(`${decision} needs a task id`);
  const identity = requireString(options, 'as', decision);
  const session = await connect(config);
  try {
    const state = await session.client.state(taskId);
    if (!state.pendingApproval)
      throw new UsageError(`task ${taskId} is not waiting for an approval (status: ${state.status})`);
    say(approvalText(state, await resolvedInput(config, state)));
    const reason = typeof options.reason === 'string' ? options.reason : undefined;
    const { outcome } = await session.client
      .decide(taskId, {
        identity,
        decision,
        reason,
        approvalId: state.pendingApproval.id,
        digest: state.pendingApproval.digest,
      })
      .catch((err: Error) => {
        throw new UsageError(`refused: ${refusalReason(err)}`);
      });
    say(`${decision === 'approve' ? 'approved' : 'rejected'} as ${identity}; the request is now ${outcome}`);
    return 0;
  } finally {
    await session.close();
  }
}

async function dev(config: LoadedConfig, options: Options): Promise<number> {
  // A steward killed with -9 may have left its server on 7233/8233 and the SQLite file: free them first.
  await stopOrphanedServer(config, note);
  if (findServer(config)?.embedded)
    throw new UsageError('steward dev is already running for this data directory');
  // Listen before the Temporal Runtime does: it takes SIGINT/SIGTERM to stop its workers, and one that
  // arrives during start-up would otherwise be swallowed. Until everything is up a signal ends the
  // process at once, and the server's watchdog stops the server.
  let onSignal = (signal: NodeJS.Signals): void => process.exit(signal === 'SIGINT' ? 130 : 143);
  const listener = (signal: NodeJS.Signals): void => onSignal(signal);
  process.on('SIGINT', listener).on('SIGTERM', listener);
  installTemporalRuntime(getLogger());
  const server = await startEmbeddedServer(config, {
    port: numberOption(options, 'port') ?? (await portOrFree(7233)),
    uiPort: numberOption(options, 'ui-port') ?? (await portOrFree(8233)),
    report: note,
    exitOnSignal: false, // dev stops its workers first, below
  });
  let workers: Workers | undefined;
  try {
    workers = await runWorkers(config, server.address, getLogger(), {
      onModelProgress: modelProgressPrinter(),
    });
    say(`Temporal server: ${server.address} (namespace ${config.temporal.namespace})`);
    say(`Temporal UI:     ${server.uiUrl}`);
    say(
      `Worker on task queue "${config.temporal.taskQueue}", compute nodes: ${config.computeNodes.map((n) => n.id).join(', ')}`,
    );
    say('Run a task in another terminal: steward run notes-digest   (Ctrl-C here stops everything)');
    await new Promise<void>((resolve) => {
      onSignal = () => resolve();
    });
    // A second signal takes the default action and ends the process; the watchdog stops the server.
    process.off('SIGINT', listener).off('SIGTERM', listener);
    note('stopping… (Ctrl-C again to force)');
  } finally {
    // workers first, so what they are doing can still reach the server
    try {
      await workers?.stop();
    } finally {
      await server.stop();
    }
  }
  return 0;
}

async function worker(config: LoadedConfig, options: Options, onlyNode?: string): Promise<number> {
  const server = findServer(config);
  if (!server) throw new UsageError('no Temporal server: set TEMPORAL_ADDRESS or start `steward dev`');
  installTemporalRuntime(getLogger());
  let nodeConfig = config;
  if (onlyNode) {
    const node = config.computeNodes.find((n) => n.id === onlyNode);
    if (!node)
      throw new UsageError(
        `no compute node ${onlyNode} in config (${config.computeNodes.map((n) => n.id).join(', ')})`,
      );
    nodeConfig = { ...config, computeNodes: [node] };
  }
  const workers = await runWorkers(nodeConfig, server.address, getLogger(), {
    onModelProgress: modelProgressPrinter(),
    computeNodes: !options['no-compute'],
  });
  say(`worker running against ${server.address}; Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await workers.stop();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, options } = parse(argv);
  const [command, ...rest] = positionals;
  if (!command || options.help || command === 'help') {
    say(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  switch (command) {
    case 'dev':
      return dev(config, options);
    case 'worker':
      return worker(config, options);
    case 'node':
      return worker(config, options, requireString(options, 'id', 'node'));
    case 'run':
      return run(config, rest, options);
    case 'approve':
    case 'reject':
      return decide(config, command, rest, options);
    case 'cancel': {
      if (!rest[0]) throw new UsageError('cancel needs a task id');
      const session = await connect(config);
      try {
        await session.client.cancel(
          rest[0],
          typeof options.as === 'string' ? options.as : currentUser(),
          options.reason as string | undefined,
        );
        say(`asked task ${rest[0]} to stop`);
        return 0;
      } finally {
        await session.close();
      }
    }
    case 'status': {
      if (!rest[0]) throw new UsageError('status needs a task id');
      const session = await connect(config);
      try {
        const state = await session.client.state(rest[0]);
        say(options.json ? JSON.stringify(state, null, 2) : stateText(state));
        return 0;
      } finally {
        await session.close();
      }
    }
    case 'list': {
      const session = await connect(config);
      try {
        say(listText(await session.client.list()));
        return 0;
      } finally {
        await session.close();
      }
    }
    case 'agents':
      for (const agent of new AgentRegistry().list()) say(`${agent.name.padEnd(16)} ${agent.description}`);
      return 0;
    case 'models':
      if (rest[0] !== 'pull') throw new UsageError('usage: steward models pull');
      say(await ensureModel({ dataDir: config.dataDir, onProgress: modelProgressPrinter() }));
      return 0;
    default:
      throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
  }
}

/** Errors a user can act on are one clear line; anything else keeps its stack. */
export function explain(err: unknown): string {
  if (
    err instanceof UsageError ||
    err instanceof ConfigError ||
    err instanceof TaskRefused ||
    err instanceof TemporalCliMissing ||
    err instanceof TaskNotFound ||
    err instanceof UnknownAgent ||
    err instanceof AgentDefinitionError
  ) {
    return `steward: ${err.message}`;
  }
  return `steward: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      note(explain(err));
      process.exit(1);
    },
  );
}
