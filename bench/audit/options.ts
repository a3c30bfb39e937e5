/** `npm run bench:audit`'s options: the parts to run and `--key=value` settings (bench/README.md, Audit). */

export const PARTS = ['verify', 'steps'] as const;
export type Part = (typeof PARTS)[number];

const DEFAULTS = {
  /** Chain sizes for the verification part (comma-separated). */
  sizes: '10000,100000',
  /** Timed passes over each chain (the median and the best are reported). */
  verifyReps: 3,
  /** Tasks of 10 read steps per side. */
  stepsReps: 60,
  /** Tasks with one approval per side. */
  approvalReps: 40,
  /** Tasks of 150 read steps per side (their trail is also exported in a batch of 256); 0 skips. */
  longReps: 6,
  /** Untimed tasks per side first. */
  warm: 3,
};
export type Options = typeof DEFAULTS & { parts: Part[] };

export function parseArgs(argv: string[]): Options {
  const options: Options = { ...DEFAULTS, parts: [] };
  for (const arg of argv) {
    if ((PARTS as readonly string[]).includes(arg)) {
      options.parts.push(arg as Part);
      continue;
    }
    const match = arg.match(/^--([a-zA-Z0-9]+)=(.*)$/);
    if (!match || !(match[1]! in DEFAULTS))
      throw new Error(
        `unknown argument ${arg}; give parts (${PARTS.join(' ')}) and --key=value for ${Object.keys(DEFAULTS).join(', ')}`,
      );
    const key = match[1] as keyof typeof DEFAULTS;
    if (key === 'sizes') {
      if (!/^\d+(,\d+)*$/.test(match[2]!)) throw new Error(`${arg}: expected sizes like 10000,100000`);
      options.sizes = match[2]!;
    } else {
      const value = Number(match[2]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg}: expected a whole number ≥ 0`);
      options[key] = value;
    }
  }
  if (options.parts.length === 0) options.parts = [...PARTS];
  return options;
}
