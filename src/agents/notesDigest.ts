import { z } from 'zod';
import type { AgentDefinition } from './definition';

/**
 * The example agent: reads a notes file, counts its words on a compute node, has the model draft a
 * digest, and writes the digest once a person approves. The plan holds the decisions; the model
 * only drafts text, which even the small embedded model does passably.
 */
export const notesDigest: AgentDefinition = {
  name: 'notes-digest',
  description: 'Summarise a notes file into a short digest and write it next to it (needs one approval).',
  instructions:
    'You write short, factual digests of meeting notes. Use plain sentences. Do not invent facts.',
  tools: ['read_file', 'text_stats', 'write_file'],
  input: z.object({ file: z.string().min(1), out: z.string().min(1) }).strict(),
  defaultInput: { file: 'notes/meeting.md', out: 'notes/digest.md' },
  limits: { maxSteps: 8, maxOutputTokens: 120 },
  plan: [
    { id: 'read', kind: 'tool', tool: 'read_file', input: { path: '{{input.file}}' } },
    { id: 'stats', kind: 'tool', tool: 'text_stats', input: { text: '{{steps.read.output.text}}' } },
    {
      id: 'draft',
      kind: 'draft',
      prompt:
        'Summarise these meeting notes in three short sentences.\n\nNotes:\n{{steps.read.output.text}}\n\nSummary:',
    },
    {
      id: 'write',
      kind: 'tool',
      tool: 'write_file',
      input: { path: '{{input.out}}', content: '{{steps.draft.text}}' },
    },
    {
      id: 'done',
      kind: 'finish',
      result:
        'Wrote {{input.out}}: a digest of {{steps.stats.output.words}} words of notes ({{steps.write.output.bytes}} bytes).',
    },
  ],
};
