/**
 * The fenced blocks of a Markdown file and the `<!-- docs-test: … -->` comment on the line before
 * each, which says how test/e2e/docs.test.ts runs it:
 *
 *   <!-- docs-test: expect "completed", exit 0 -->        run; exit code and output checked
 *   <!-- docs-test: tty "y\n" -->                         run in a terminal, typing the text
 *   <!-- docs-test: eventually, expect "awaiting" -->     run again (up to `timeout`) until it passes
 *   <!-- docs-test: background, ready "Worker on" -->     start, wait for the text, keep running
 *   <!-- docs-test: file "policy.yaml" -->                write the block to that file (any language)
 *   <!-- docs-test: skip "needs Docker" -->               not run here, for the reason given
 *   <!-- docs-test: sample -->                            (on output) what the block before printed
 *
 * Every shell block (sh, bash, shell) must carry one, so nothing is silently unchecked.
 */

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);

export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  test?: BlockTest;
}

export interface BlockTest {
  notRunHere?: string;
  background?: boolean;
  ready?: string;
  expect: string[];
  exit: number;
  tty?: string;
  eventually?: boolean;
  file?: string;
  sample?: boolean;
  timeoutSeconds: number;
}

const MARKER = /^<!--\s*docs-test:(.*)-->\s*$/;
const FENCE = /^(\s*)(```+)\s*([\w-]*)/;

export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(FENCE);
    if (!open) continue;
    const [, indent, ticks, lang] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].trimStart().startsWith(ticks); i++) {
      body.push(lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i]);
    }
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: code block is never closed`);
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? lines[before].trim().match(MARKER) : null;
    blocks.push({
      file,
      line: start + 1,
      lang,
      code: body.join('\n') + '\n',
      test: marker ? parseMarker(marker[1], `${file}:${before + 1}`) : undefined,
    });
  }
  return blocks;
}

/** `key "value", key, key 5`: values are JSON strings or integers. */
export function parseMarker(text: string, where: string): BlockTest {
  const test: BlockTest = { expect: [], exit: 0, timeoutSeconds: 120 };
  const item = /\s*([a-z]+)(?:\s+("(?:[^"\\]|\\.)*"|\d+))?\s*(,|$)/y;
  let pos = 0;
  const source = text.trim();
  while (pos < source.length) {
    item.lastIndex = pos;
    const m = item.exec(source);
    if (!m) throw new Error(`${where}: docs-test marker cannot be read at "${source.slice(pos)}"`);
    pos = item.lastIndex;
    const [, key, raw] = m;
    const value = raw === undefined ? undefined : (JSON.parse(raw) as string | number);
    const str = (): string => {
      if (typeof value !== 'string') throw new Error(`${where}: docs-test "${key}" needs a quoted text`);
      return value;
    };
    const num = (): number => {
      if (typeof value !== 'number') throw new Error(`${where}: docs-test "${key}" needs a number`);
      return value;
    };
    switch (key) {
      case 'skip':
        test.notRunHere = str();
        break;
      case 'background':
        test.background = true;
        break;
      case 'ready':
        test.ready = str();
        break;
      case 'expect':
        test.expect.push(str());
        break;
      case 'exit':
        test.exit = num();
        break;
      case 'tty':
        test.tty = str();
        break;
      case 'eventually':
        test.eventually = true;
        break;
      case 'file':
        test.file = str();
        break;
      case 'sample':
        test.sample = true;
        break;
      case 'timeout':
        test.timeoutSeconds = num();
        break;
      default:
        throw new Error(
          `${where}: unknown docs-test "${key}" (skip, background, ready, expect, exit, tty, eventually, file, sample, timeout)`,
        );
    }
  }
  if (test.notRunHere !== undefined && test.notRunHere.trim() === '')
    throw new Error(`${where}: docs-test skip needs a reason`);
  if (test.background && !test.ready)
    throw new Error(`${where}: docs-test background needs ready "…" (the text that says it is up)`);
  return test;
}

/**
 * The lines of a sample output that `output` must print, each as a pattern: times, decimals, numbers
 * of three digits or more (ports, sizes) and hex ids and hashes vary, `you` stands for `user`, a line
 * cut short with … is matched by its start, and the model's draft (lines quoted with │) is not
 * compared. Small numbers (steps, counts) must match; runs of spaces (padding) may differ. Returns the lines no output line matches.
 */
export function sampleLinesMissing(sample: string, output: string, user: string): string[] {
  const printed = output.split('\n').map((l) => l.trimEnd());
  const missing: string[] = [];
  for (const line of sample.split('\n').map((l) => l.trimEnd())) {
    if (line.trim() === '' || line.trimStart().startsWith('│')) continue;
    const [start, ...cut] = line.split('…');
    const regex = new RegExp(`^${linePattern(start, user)}${cut.length > 0 ? '' : '$'}`);
    if (!printed.some((l) => regex.test(l))) missing.push(line);
  }
  return missing;
}

const VARYING = /(\d{4}-\d\d-\d\dT[\d:.]+Z)|(\d+\.\d+)|(\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b)|(\d{3,})|(\byou\b)/g;

function linePattern(text: string, user: string): string {
  // columns are padded to the values' widths: a run of spaces is any run of spaces
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ {2,}/g, ' +');
  let pattern = '';
  let at = 0;
  for (const m of text.matchAll(VARYING)) {
    pattern += escape(text.slice(at, m.index));
    pattern += m[5] ? escape(user) : m[3] ? '[0-9a-f]+' : '[\\d:.TZ-]+';
    at = m.index + m[0].length;
  }
  return pattern + escape(text.slice(at));
}
