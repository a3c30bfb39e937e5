/**
 * Preloaded into the cluster's `steward worker` and `steward node` processes
 * (`node --require stewardTestHooks.js bin/steward.js worker`): adds the test agents and tools to
 * the built-ins of the compiled CLI. `steward worker` has no way yet to load agents and tools of
 * one's own (config agents cannot bring new tools); once it has, this file goes.
 *
 * The tools charge a real local ledger (test/support/ledgerServer.ts) with the step's idempotency
 * key, say which process did it, and then hold the step open, so a test can kill or stop that
 * process after the effect and before the step completes.
 */
const { join } = require('node:path');
const { z } = require('zod');

const dist = join(__dirname, '..', '..', '..', 'dist');
const agents = require(join(dist, 'agents'));
const builtin = require(join(dist, 'tools', 'builtin'));

/** Waits `ms`, heart-beating every second, and gives up when the step is cancelled. */
function hold(ms, context) {
  return new Promise((resolve, reject) => {
    const beat = setInterval(() => context.heartbeat(), 1000);
    const done = setTimeout(() => {
      clearInterval(beat);
      resolve();
    }, ms);
    context.signal.addEventListener('abort', () => {
      clearInterval(beat);
      clearTimeout(done);
      reject(new Error('cancelled'));
    });
  });
}

function chargeTool(name, placement) {
  return {
    name,
    description: `Charge an amount through the ledger (${placement}), then hold the step open for holdMs.`,
    effect: 'write',
    dataClass: 'internal',
    placement,
    input: z
      .object({
        url: z.string(),
        amount: z.coerce.number().positive(),
        holdMs: z.coerce.number().int().min(0).max(60_000).default(0),
      })
      .strict(),
    output: z.object({ chargeId: z.number(), pid: z.number(), attempts: z.number() }),
    handler: async ({ url, amount, holdMs }, context) => {
      const response = await fetch(`${url}/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': context.idempotencyKey },
        body: JSON.stringify({ amount, pid: process.pid, tool: name }),
        signal: context.signal,
      });
      if (!response.ok) throw new Error(`ledger answered ${response.status}`);
      const body = await response.json();
      await hold(holdMs, context); // the effect has happened; the step has not completed
      return { chargeId: body.chargeId, pid: process.pid, attempts: 1 };
    },
  };
}

const clusterCharge = chargeTool('cluster_charge', 'worker');
const clusterCompute = chargeTool('cluster_compute', 'compute');

/** A large output (over the blob threshold), so it goes to the blob store as a claim check. */
const clusterBlob = {
  name: 'cluster_blob',
  description: 'Returns the size of its text and a long text made from it.',
  effect: 'read',
  dataClass: 'internal',
  placement: 'worker',
  input: z.object({ text: z.string(), times: z.coerce.number().int().min(1).max(100) }).strict(),
  output: z.object({ chars: z.number(), long: z.string(), pid: z.number() }),
  handler: async ({ text, times }) => ({ chars: text.length, long: text.repeat(times), pid: process.pid }),
};

/** Only waits: a step between two others, during which a test can change the world. */
const clusterWait = {
  name: 'cluster_wait',
  description: 'Waits holdMs.',
  effect: 'read',
  dataClass: 'internal',
  placement: 'worker',
  input: z.object({ holdMs: z.coerce.number().int().min(0).max(60_000) }).strict(),
  output: z.object({ pid: z.number() }),
  handler: async ({ holdMs }, context) => {
    await hold(holdMs, context);
    return { pid: process.pid };
  },
};

const input = z.object({ url: z.string(), holdMs: z.number().int().min(0) }).strict();

const testAgents = [
  {
    name: 'cluster-charge',
    description: 'charges once, holding the step open',
    instructions: 'n/a',
    tools: ['cluster_charge'],
    input,
    plan: [
      {
        id: 'charge',
        kind: 'tool',
        tool: 'cluster_charge',
        input: { url: '{{input.url}}', amount: 5, holdMs: '{{input.holdMs}}' },
      },
      {
        id: 'done',
        kind: 'finish',
        result: 'charge {{steps.charge.output.chargeId}} by {{steps.charge.output.pid}}',
      },
    ],
  },
  {
    name: 'cluster-steps',
    description: 'charges four times in a row, each step held open',
    instructions: 'n/a',
    tools: ['cluster_charge'],
    input,
    limits: { maxSteps: 10 },
    plan: [
      ...[1, 2, 3, 4].map((amount) => ({
        id: `charge${amount}`,
        kind: 'tool',
        tool: 'cluster_charge',
        input: { url: '{{input.url}}', amount, holdMs: '{{input.holdMs}}' },
      })),
      { id: 'done', kind: 'finish', result: 'charged 4 times' },
    ],
  },
  {
    name: 'cluster-compute',
    description: 'one job on a compute node, held open',
    instructions: 'n/a',
    tools: ['cluster_compute'],
    input,
    plan: [
      {
        id: 'job',
        kind: 'tool',
        tool: 'cluster_compute',
        input: { url: '{{input.url}}', amount: 1, holdMs: '{{input.holdMs}}' },
      },
      { id: 'done', kind: 'finish', result: 'job {{steps.job.output.chargeId}} by {{steps.job.output.pid}}' },
    ],
  },
  {
    name: 'cluster-blobs',
    description: 'reads a large input and makes a large output',
    instructions: 'n/a',
    tools: ['cluster_blob'],
    input: z.object({ text: z.string() }).strict(),
    plan: [
      { id: 'grow', kind: 'tool', tool: 'cluster_blob', input: { text: '{{input.text}}', times: 2 } },
      {
        id: 'again',
        kind: 'tool',
        tool: 'cluster_blob',
        input: { text: '{{steps.grow.output.long}}', times: 1 },
      },
      { id: 'done', kind: 'finish', result: '{{steps.again.output}}' },
    ],
  },
  {
    name: 'cluster-blobs-wait',
    description: 'waits, then reads a large input',
    instructions: 'n/a',
    tools: ['cluster_wait', 'cluster_blob'],
    input: z.object({ text: z.string(), holdMs: z.number().int().min(0) }).strict(),
    plan: [
      { id: 'wait', kind: 'tool', tool: 'cluster_wait', input: { holdMs: '{{input.holdMs}}' } },
      { id: 'grow', kind: 'tool', tool: 'cluster_blob', input: { text: '{{input.text}}', times: 1 } },
      { id: 'done', kind: 'finish', result: 'read {{steps.grow.output.chars}} characters' },
    ],
  },
];

agents.builtinAgents.push(...testAgents);
const builtinTools = builtin.builtinTools;
builtin.builtinTools = (options) => [
  ...builtinTools(options),
  clusterCharge,
  clusterCompute,
  clusterBlob,
  clusterWait,
];
