/**
 * Runs one ticket through the `ticket-triage` agent: starts a Steward worker with this project's
 * agent and tools (on TEMPORAL_ADDRESS if set, else on a Temporal dev server started here), starts
 * the task, approves the filing as the team lead, and prints the result and the audit check.
 */
import { resolve } from 'node:path';
import { createWorker, verifyAudit } from 'steward';
import { ticketTriage } from './agent';
import { fileTicketTool, triageTicket } from './tools';

const ROOT = resolve(__dirname, '..');
const LEAD = 'lead';

async function main(): Promise<number> {
  const worker = await createWorker({
    embedded: true,
    baseDir: ROOT,
    config: {
      dataDir: '.steward',
      tools: { workspace: 'workspace' },
      policy: { approval: { approvers: [LEAD] } },
    },
    agents: [ticketTriage],
    tools: [triageTicket, fileTicketTool(resolve(ROOT, 'tickets'))],
  });
  try {
    const client = await worker.client();
    const id = process.argv[2] ?? `T-${Date.now().toString(36)}`;
    const handle = await client.start({
      agent: 'ticket-triage',
      principal: 'support-bot',
      input: {
        id,
        subject: 'Charged twice for my invoice',
        body: 'Hello, my card was charged twice this month. Please refund one payment asap.',
      },
    });
    console.log(`task ${handle.workflowId} on ${worker.address}`);
    if (worker.uiUrl) console.log(`Temporal UI: ${worker.uiUrl}`);
    const result = await client.follow(handle.workflowId, async (state) => {
      const pending = state.pendingApproval;
      if (!pending || pending.decisions.length > 0) return;
      console.log(`approval ${pending.id}: ${pending.action.tool} ${JSON.stringify(pending.action.input)}`);
      await client.decide(handle.workflowId, {
        identity: LEAD,
        decision: 'approve',
        reason: 'the category looks right',
        approvalId: pending.id,
        digest: pending.digest,
      });
      console.log(`approved by ${LEAD}`);
    });
    console.log(`${result.status}: ${result.result ?? result.detail}`);
    const check = verifyAudit(await client.audit(handle.workflowId));
    console.log(`audit: ${result.auditEntries} entries, chain ${check.ok ? 'verified' : 'BROKEN'}`);
    return result.status === 'completed' && check.ok ? 0 : 1;
  } finally {
    await worker.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
