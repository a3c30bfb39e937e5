import { z } from 'zod';
import { defineTool } from './registry';

export const textStatsTool = defineTool({
  name: 'text_stats',
  description: 'Count the words, lines and characters of a text and list its most frequent words.',
  effect: 'read',
  dataClass: 'public',
  placement: 'compute',
  input: z.object({ text: z.string() }).strict(),
  output: z.object({
    words: z.number().int(),
    lines: z.number().int(),
    chars: z.number().int(),
    topWords: z.array(z.string()),
  }),
  handler: async ({ text }) => {
    const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    const counts = new Map<string, number>();
    for (const w of words) if (w.length > 3) counts.set(w, (counts.get(w) ?? 0) + 1);
    const topWords = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([w]) => w);
    return { words: words.length, lines: text.split('\n').length, chars: text.length, topWords };
  },
});
