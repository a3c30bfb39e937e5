import { WorkflowNotFoundError } from '@temporalio/client';
import { ledgerId } from '../../activities/spend';
import { committed, utcDay, type DailyCap, type LedgerState } from '../../policies/ledger';
import { ledgerQuery } from '../../workflows/messages';
import { defineCommand, say, UsageError } from '../command';
import { connect, withSession } from '../session';

function capText(cap: DailyCap | undefined): string {
  const parts = [
    cap?.usd !== undefined ? `$${cap.usd}` : undefined,
    cap?.tokens !== undefined ? `${cap.tokens} tokens` : undefined,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no cap';
}

export const budget = defineCommand({
  name: 'budget',
  synopsis: '<principal> [--agent NAME] [--json]',
  summary: "today's spend of a principal (or an agent) across tasks: spent, reserved, cap",
  args: ['principal'],
  options: {
    agent: { type: 'string', value: 'NAME', description: "an agent's ledger instead of a principal's" },
    json: { type: 'boolean', description: 'print the ledger as JSON' },
  },
  async run({ config, args: [principal], options }) {
    if (!principal && !options.agent) throw new UsageError('budget needs a principal (or --agent NAME)');
    const account = options.agent ? `agent:${options.agent}` : `principal:${principal}`;
    const caps = config.budgets?.[options.agent ? 'agent' : 'principal'];
    const cap = caps && { usd: caps.dailyUsd, tokens: caps.dailyTokens };
    return withSession(connect(config), async (session) => {
      let state: LedgerState;
      try {
        state = await session.client.client.workflow.getHandle(ledgerId(account)).query(ledgerQuery);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        say(`${account}: nothing spent yet (cap ${capText(cap)} a day)`);
        return 0;
      }
      const day = utcDay(Date.now());
      const spent = state.days[day] ?? { usd: 0, tokens: 0 };
      const total = committed(state, day);
      const open = Object.entries(state.reservations).filter(([, r]) => r.day === day);
      if (options.json) {
        say(JSON.stringify({ account, day, cap, spent, reserved: open.length, committed: total }, null, 2));
        return 0;
      }
      say(`${account} · ${day} (UTC) · cap ${capText(cap)} a day`);
      say(`  spent     $${spent.usd.toFixed(6)}   ${spent.tokens} tokens`);
      say(
        `  reserved  $${(total.usd - spent.usd).toFixed(6)}   ${total.tokens - spent.tokens} tokens   (${open.length} steps running)`,
      );
      if (cap?.usd !== undefined) say(`  left      $${Math.max(cap.usd - total.usd, 0).toFixed(6)}`);
      return 0;
    });
  },
});
