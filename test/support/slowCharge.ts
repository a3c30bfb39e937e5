import { z } from 'zod';
import type { AgentDefinition } from '../../src/agents/definition';
import { defineTool } from '../../src/tools/registry';

/** Takes its time around the effect, so a test can kill the worker while it is under way. */
export const slowCharge = defineTool({
  name: 'slow_charge',
  description: 'Charge an amount through the ledger, slowly.',
  effect: 'spend',
  dataClass: 'internal',
  input: z.object({ amount: z.number().positive() }).strict(),
  output: z.object({ chargeId: z.number() }),
  handler: async ({ amount }, { idempotencyKey, signal }) => {
    await new Promise((r) => setTimeout(r, 300));
    const response = await fetch(`${process.env.LEDGER_URL}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify({ amount }),
      signal,
    });
    const body = (await response.json()) as { chargeId: number };
    await new Promise((r) => setTimeout(r, 3000)); // the effect has happened; the activity has not completed
    return body;
  },
});

/** Charges once, by plan: the agent the kill-a-worker test runs. */
export const chargeAgent: AgentDefinition = {
  name: 'test-charge',
  description: 'charges once, by plan',
  instructions: 'n/a',
  tools: ['slow_charge'],
  plan: [
    { id: 'charge', kind: 'tool', tool: 'slow_charge', input: { amount: 5 } },
    { id: 'done', kind: 'finish', result: 'charge {{steps.charge.output.chargeId}}' },
  ],
};

/** Charges twice, by plan: with a run per step, its trail is exported (and signed) between the charges. */
export const chargeTwiceAgent: AgentDefinition = {
  name: 'test-charge-twice',
  description: 'charges twice, by plan',
  instructions: 'n/a',
  tools: ['slow_charge'],
  plan: [
    { id: 'first', kind: 'tool', tool: 'slow_charge', input: { amount: 5 } },
    { id: 'second', kind: 'tool', tool: 'slow_charge', input: { amount: 7 } },
    {
      id: 'done',
      kind: 'finish',
      result: 'charges {{steps.first.output.chargeId}} and {{steps.second.output.chargeId}}',
    },
  ],
};

/** Answers in one model call: the agent the worker-killed-mid-reservation test runs. */
export const answerAgent: AgentDefinition = {
  name: 'test-answerer',
  description: 'answers in one model call',
  instructions: 'Answer.',
  tools: ['read_file'],
};
