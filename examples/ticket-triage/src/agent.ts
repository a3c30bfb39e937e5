import { defineAgent } from 'steward';
import { z } from 'zod';

/**
 * A fixed plan: classify, file (after a person approves), report. No model call, so it runs on any
 * machine; add a `draft` step (the model writes a reply) once a model is configured.
 */
export const ticketTriage = defineAgent({
  name: 'ticket-triage',
  description: 'Classify a support ticket and file it in the queue of its category (needs one approval).',
  instructions: 'You triage support tickets. Be factual.',
  tools: ['triage_ticket', 'file_ticket'],
  input: z.object({ id: z.string().min(1), subject: z.string().min(1), body: z.string() }).strict(),
  limits: { maxSteps: 5 },
  plan: [
    {
      id: 'classify',
      kind: 'tool',
      tool: 'triage_ticket',
      input: { subject: '{{input.subject}}', body: '{{input.body}}' },
    },
    {
      id: 'file',
      kind: 'tool',
      tool: 'file_ticket',
      input: {
        id: '{{input.id}}',
        subject: '{{input.subject}}',
        category: '{{steps.classify.output.category}}',
        priority: '{{steps.classify.output.priority}}',
      },
    },
    {
      id: 'done',
      kind: 'finish',
      result:
        'Filed {{input.id}} as {{steps.classify.output.category}} ({{steps.classify.output.priority}} priority) in {{steps.file.output.path}}.',
    },
  ],
});
