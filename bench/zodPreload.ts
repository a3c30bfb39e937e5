import { z } from 'zod';

/**
 * Experiment (bench/run.ts --stewardPreload=zod,/abs/path/bench/zodPreload.ts): zod configures itself
 * lazily on first use (default locale, memoizer), which fails once the reusable V8 context has
 * frozen a preloaded zod. Using each kind of schema once here, while zod is being preloaded and
 * before it is frozen, does that configuration in time.
 */
z.object({ s: z.string().trim().min(1).max(2), n: z.number().int().nullish(), e: z.enum(['a']) })
  .strict()
  .safeParse({ s: '', n: 1.5, e: 'b', x: 1 });
z.record(z.string(), z.union([z.string(), z.array(z.unknown())])).safeParse({ a: 1 });
z.literal('x').optional().safeParse(2);
