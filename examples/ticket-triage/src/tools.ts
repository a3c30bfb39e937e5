import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineTool } from 'steward';
import { z } from 'zod';

const RULES: { category: string; words: string[] }[] = [
  { category: 'billing', words: ['invoice', 'charged', 'refund', 'payment', 'price'] },
  { category: 'outage', words: ['down', 'error', '500', 'cannot log in', 'unavailable'] },
  { category: 'account', words: ['password', 'email', 'username', 'delete my account'] },
];
const URGENT = ['urgent', 'asap', 'immediately', 'all users', 'production'];

/** Reads a ticket and says what it is about. Reading only: policy lets it run without asking. */
export const triageTicket = defineTool({
  name: 'triage_ticket',
  description: 'Classify a support ticket: category, priority and the words that decided them.',
  effect: 'read',
  dataClass: 'internal',
  input: z.object({ subject: z.string().min(1), body: z.string() }).strict(),
  output: z.object({
    category: z.string(),
    priority: z.enum(['low', 'normal', 'high']),
    reasons: z.array(z.string()),
  }),
  async handler({ subject, body }) {
    const text = `${subject}\n${body}`.toLowerCase();
    const rule = RULES.find((r) => r.words.some((w) => text.includes(w)));
    const urgent = URGENT.filter((w) => text.includes(w));
    const priority: 'low' | 'normal' | 'high' =
      urgent.length > 0 ? 'high' : rule?.category === 'outage' ? 'normal' : 'low';
    return {
      category: rule?.category ?? 'general',
      priority,
      reasons: [...(rule ? rule.words.filter((w) => text.includes(w)) : []), ...urgent],
    };
  },
});

/**
 * Files the ticket in a queue directory: a change, so the default policy asks a person first. The
 * file is named by the ticket and written whole, so a retried step (same idempotency key) leaves the
 * same file, not a second one.
 */
export function fileTicketTool(queueDir: string) {
  return defineTool({
    name: 'file_ticket',
    description: 'File a triaged ticket in the queue of its category.',
    effect: 'write',
    dataClass: 'internal',
    input: z
      .object({
        id: z.string().regex(/^[\w-]{1,64}$/),
        subject: z.string().min(1),
        category: z.string().regex(/^[a-z]{1,32}$/),
        priority: z.enum(['low', 'normal', 'high']),
      })
      .strict(),
    output: z.object({ path: z.string() }),
    async handler(ticket, context) {
      const dir = join(queueDir, ticket.category);
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${ticket.id}.json`);
      const record = { ...ticket, filedBy: context.idempotencyKey };
      await writeFile(path, `${JSON.stringify(record, null, 2)}\n`);
      context.logger.info({ path }, 'ticket filed');
      return { path: join(ticket.category, `${ticket.id}.json`) };
    },
  });
}
