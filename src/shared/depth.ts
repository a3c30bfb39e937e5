/** How deep a start request or a message may nest: far beyond any real input, far below any stack. */
export const MAX_NESTING = 64;

/**
 * Whether a JSON-like value nests deeper than `max` (arrays and objects), walked without recursion so
 * a hostile value 100,000 levels deep cannot overflow the stack that checks it.
 */
export function nestsDeeperThan(value: unknown, max: number = MAX_NESTING): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
