import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { AgentDefinition } from '../../src/agents/definition';
import { main } from '../../src/cli/main';
import { ledgerId } from '../../src/activities/spend';
import { committed, utcDay, type LedgerState } from '../../src/policies/ledger';
import { ledgerQuery } from '../../src/workflows/messages';
import { eventually, Harness, uniqueName } from '../support/harness';

const answerer: AgentDefinition = {
  name: 'test-answerer',
  description: 'answers in one model call',
  instructions: 'Answer.',
  tools: ['read_file'],
};

const harness = new Harness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => harness.mock.reset());

function ledgerOf(account: string): Promise<LedgerState> {
  return harness.client.client.workflow.getHandle(ledgerId(account)).query(ledgerQuery);
}

describe('spend that holds across tasks', () => {
  test('50 tasks of one principal racing for a daily cap never spend past it', async () => {
    // each call costs $0.0005 (100 in at $1/M, 200 out at $2/M) and reserves about twice that
    harness.mock.otherwise({
      tool: 'finish',
      args: { result: 'ok' },
      usage: { prompt: 100, completion: 200 },
    });
    const principal = uniqueName('racer');
    const config = harness.config();
    config.budgets = { principal: { dailyUsd: 0.01 } };
    const results = await Promise.all(
      Array.from({ length: 50 }, async () =>
        (await harness.launch(harness.spec(answerer, { principal }, config))).result(),
      ),
    );
    const completed = results.filter((r) => r.status === 'completed');
    const exhausted = results.filter((r) => r.stopReason === 'budget_exhausted');
    expect(completed.length + exhausted.length).toBe(50);
    expect(completed.length).toBeGreaterThan(0);
    expect(exhausted.length).toBeGreaterThan(0);
    expect(exhausted[0]!.detail).toMatch(/daily|cap/);
    const spent = results.reduce((sum, r) => sum + r.spendUsd, 0);
    expect(spent).toBeLessThanOrEqual(0.01 + 1e-9);

    // every reservation is settled (the settle signals may land just after the tasks end)
    const state = await eventually(async () => {
      const s = await ledgerOf(`principal:${principal}`);
      return Object.keys(s.reservations).length === 0 ? s : undefined;
    }, 'every reservation settled');
    const today = committed(state, utcDay(Date.now()));
    expect(today.usd).toBeLessThanOrEqual(0.01 + 1e-9);
    expect(today.usd).toBeCloseTo(spent, 6); // the ledger holds what the tasks were charged

    // steward budget shows the same, with what is left under the cap
    const configFile = join(harness.dir, 'budget.yaml');
    writeFileSync(
      configFile,
      stringify({ budgets: { principal: { dailyUsd: 0.01 } }, dataDir: join(harness.dir, 'data') }),
    );
    const printed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((line) => {
      printed.push(String(line));
      return true;
    });
    process.env.STEWARD_CONFIG = configFile;
    try {
      expect(await main(['budget', principal])).toBe(0);
    } finally {
      write.mockRestore();
      delete process.env.STEWARD_CONFIG;
    }
    const text = printed.join('');
    expect(text).toContain(`principal:${principal}`);
    expect(text).toContain('cap $0.01 a day');
    expect(text).toMatch(new RegExp(`spent\\s+\\$${spent.toFixed(6).replace('.', '\\.')}`));
    expect(text).toContain('(0 steps running)');
  }, 120_000);

  test('a denied route falls back to a cheaper one before the task stops', async () => {
    harness.mock.otherwise({
      tool: 'finish',
      args: { result: 'pricey' },
      usage: { prompt: 10, completion: 10 },
    });
    harness.mock2.otherwise({
      tool: 'finish',
      args: { result: 'cheap' },
      usage: { prompt: 10, completion: 10 },
    });
    const config = harness.config();
    config.preference = 'latency';
    config.models = [
      {
        id: 'gold',
        provider: 'mock',
        model: 'gold',
        trust: 'public',
        latencyMs: 1,
        price: { inputPerMTok: 100, outputPerMTok: 100 },
      },
      {
        id: 'tin',
        provider: 'mock2',
        model: 'tin',
        trust: 'public',
        latencyMs: 1000,
        price: { inputPerMTok: 0.01, outputPerMTok: 0.01 },
      },
    ];
    config.budgets = { agent: { dailyUsd: 0.05 } };
    const result = await (await harness.launch(harness.spec(answerer, {}, config))).result();
    expect(result).toMatchObject({ status: 'completed', result: 'cheap' });
    const audit = await harness.client.audit(result.taskId);
    expect(audit.find((e) => e.kind === 'budget.denied')?.data).toMatchObject({ route: 'gold' });
  });

  test('a model with an unknown price is not used: never treated as free', async () => {
    harness.mock.otherwise({ tool: 'finish', args: { result: 'unpriced' } });
    harness.mock2.otherwise({
      tool: 'finish',
      args: { result: 'priced' },
      usage: { prompt: 10, completion: 10 },
    });
    const config = harness.config();
    config.preference = 'latency';
    config.models = [
      { id: 'mystery', provider: 'mock', model: 'm', trust: 'public', latencyMs: 1 },
      {
        id: 'known',
        provider: 'mock2',
        model: 'k',
        trust: 'public',
        latencyMs: 500,
        price: { inputPerMTok: 1, outputPerMTok: 1 },
      },
    ];
    const result = await (await harness.launch(harness.spec(answerer, {}, config))).result();
    expect(result).toMatchObject({ status: 'completed', result: 'priced' });
    const audit = await harness.client.audit(result.taskId);
    expect(audit.find((e) => e.kind === 'route.unpriced')?.data).toEqual({ route: 'mystery' });

    config.models = [config.models[0]!];
    const stopped = await (await harness.launch(harness.spec(answerer, {}, config))).result();
    expect(stopped).toMatchObject({ status: 'stopped', stopReason: 'no_route' });
    expect(stopped.detail).toBe('no model route has a known price (mystery): set models[].price');
  });
});
