/**
 * Docs that run: every shell example in the README and the guides under docs/, run word for word in
 * a scratch copy of the checkout, as a newcomer would follow them: the README first, then each guide
 * in the order the README's map links them, one shell session after another (shell variables a block
 * sets, like `task`, carry over to the next block; each block starts in the checkout's root).
 *
 * The copy is the checkout's files (tracked, and new ones not ignored), node_modules (linked), dist/ built from the copy as
 * `npm ci` builds it, and the model weights' cache (.steward/models, linked, so the test does not fetch 93 MB again). No
 * TEMPORAL_* or STEWARD_* variable of the suite reaches the blocks: the docs start their own
 * `steward dev` or embedded server, as they say. `npx steward` runs the copy's bin/steward.js.
 *
 * How a block runs is said by the comment before it (test/support/docBlocks.ts); a shell block
 * without one fails the test, and the blocks marked not runnable here are counted and printed.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { extractBlocks, sampleLinesMissing, SHELL_LANGS, type DocBlock } from '../support/docBlocks';

const REPO = join(__dirname, '..', '..');

/** The README, then every guide its map links, in the map's order. */
function docFiles(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const linked = [...readme.matchAll(/\]\((docs\/[\w-]+\.md)(?:#[\w-]*)?\)/g)].map((m) => m[1]);
  return ['README.md', ...new Set(linked)];
}

const files = docFiles();
const blocks: DocBlock[] = files.flatMap((f) => extractBlocks(f, readFileSync(join(REPO, f), 'utf8')));
const shellBlocks = blocks.filter((b) => SHELL_LANGS.has(b.lang));
const runnable = blocks.filter((b) => b.test && b.test.notRunHere === undefined);

const scratch = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? tmpdir(), 'docs-'));
const stateFile = join(scratch, '.docs-test', 'state.sh');
const background: { block: DocBlock; child: ChildProcess; exited: Promise<void> }[] = [];
const ran: DocBlock[] = [];

/** What a newcomer's shell has: no Temporal or Steward variables of the suite's. */
function blockEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('STEWARD_') || (key.startsWith('TEMPORAL_') && key !== 'TEMPORAL_CLI_PATH')) continue;
    if (key === 'FORCE_COLOR' || key.startsWith('JEST_') || key.startsWith('npm_')) continue;
    env[key] = value;
  }
  return { ...env, USER: 'newcomer', NO_COLOR: '1', DOCS_STATE: stateFile, DOCS_CHECKOUT: scratch };
}

function copyCheckout(): void {
  // What a clone of this work tree would hold: tracked files and new ones not ignored (none in CI).
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
  }).split('\0');
  for (const path of [...new Set(listed)].filter(Boolean)) {
    if (!existsSync(join(REPO, path))) continue; // deleted in the work tree
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    cpSync(join(REPO, path), join(scratch, path));
  }
  symlinkSync(join(REPO, 'node_modules'), join(scratch, 'node_modules'));
  // What npm ci's `prepare` does. Type errors are the typecheck's to report: tsc still emits.
  spawnSync(
    process.execPath,
    [join(scratch, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: scratch,
      stdio: 'ignore',
    },
  );
  if (!existsSync(join(scratch, 'dist', 'cli', 'main.js')))
    throw new Error(`npm run build made no dist/ in ${scratch}`);
  if (existsSync(join(REPO, '.steward', 'models'))) {
    mkdirSync(join(scratch, '.steward'), { recursive: true });
    symlinkSync(join(REPO, '.steward', 'models'), join(scratch, '.steward', 'models'));
  }
  mkdirSync(dirname(stateFile), { recursive: true });
}

/** The block as a script: the shell session's variables in, `npx steward` as this checkout's. */
function script(block: DocBlock, index: number): string {
  const path = join(scratch, '.docs-test', `block-${index}.sh`);
  writeFileSync(
    path,
    [
      'set -eo pipefail',
      'npx() { if [ "$1" = steward ]; then shift; node "$DOCS_CHECKOUT/bin/steward.js" "$@"; else command npx "$@"; fi; }',
      '[ -f "$DOCS_STATE" ] && . "$DOCS_STATE"',
      'set -a',
      `save() { for v in $(compgen -v | grep -E '^[a-z][a-z0-9_]*$'); do declare -p "$v"; done > "$DOCS_STATE.new" && mv "$DOCS_STATE.new" "$DOCS_STATE"; }`,
      block.test?.background ? '' : 'trap save EXIT',
      'cd "$DOCS_CHECKOUT"',
      block.code,
    ].join('\n'),
  );
  return path;
}

function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

function start(block: DocBlock, index: number): { child: ChildProcess; output: () => string } {
  const file = script(block, index);
  const tty = block.test?.tty;
  // `script` gives the block a terminal, so a prompt asks as it would for a person.
  const [cmd, args] =
    tty !== undefined ? ['script', ['-qec', `bash ${file}`, '/dev/null']] : ['bash', [file]];
  const child = spawn(cmd, args, {
    cwd: scratch,
    env: blockEnv(),
    detached: true, // its own process group, so everything it starts can be stopped with it
    stdio: [tty !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  if (tty !== undefined) {
    child.stdin!.on('error', () => undefined);
    child.stdin!.write(tty);
  }
  return { child, output: () => plain(out) };
}

function describeBlock(block: DocBlock, output: string): string {
  return `${block.file}:${block.line}\n--- block ---\n${block.code}--- output ---\n${output.slice(-6000)}`;
}

async function runOnce(block: DocBlock, index: number): Promise<{ code: number | null; output: string }> {
  const { child, output } = start(block, index);
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number | null>((resolve) => {
    timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      resolve(null);
    }, block.test!.timeoutSeconds * 1000);
    child.once('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  return { code, output: output() };
}

function problems(block: DocBlock, code: number | null, output: string): string[] {
  const t = block.test!;
  const found: string[] = [];
  if (code === null) found.push(`did not finish within ${t.timeoutSeconds} s`);
  else if (code !== t.exit) found.push(`exited ${code}, expected ${t.exit}`);
  for (const text of t.expect) if (!output.includes(text)) found.push(`printed no "${text}"`);
  return found;
}

/** What the last block that ran printed, for a `sample` block after it. */
let lastOutput = '';

async function runBlock(block: DocBlock, index: number): Promise<void> {
  const t = block.test!;
  if (t.sample) {
    const missing = sampleLinesMissing(block.code, lastOutput, 'newcomer');
    if (missing.length > 0)
      throw new Error(
        `the sample differs from what the block before printed; no line like:\n${missing.join('\n')}\n${describeBlock(block, lastOutput)}`,
      );
    return;
  }
  if (t.file) {
    mkdirSync(dirname(join(scratch, t.file)), { recursive: true });
    writeFileSync(join(scratch, t.file), block.code);
    return;
  }
  if (t.background) return startBackground(block, index);
  const deadline = Date.now() + t.timeoutSeconds * 1000;
  for (;;) {
    const { code, output } = await runOnce(block, index);
    const found = problems(block, code, output);
    lastOutput = output;
    if (found.length === 0) return;
    if (!t.eventually || Date.now() > deadline)
      throw new Error(`${found.join('; ')}\n${describeBlock(block, output)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function startBackground(block: DocBlock, index: number): Promise<void> {
  const t = block.test!;
  const { child, output } = start(block, index);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  background.push({ block, child, exited });
  const deadline = Date.now() + t.timeoutSeconds * 1000;
  while (!output().includes(t.ready!)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited before printing "${t.ready}"\n${describeBlock(block, output())}`);
    if (Date.now() > deadline)
      throw new Error(`no "${t.ready}" within ${t.timeoutSeconds} s\n${describeBlock(block, output())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function firstLine(code: string): string {
  return code.split('\n').find((l) => l.trim() !== '') ?? '';
}

beforeAll(() => copyCheckout(), 300_000);

afterAll(async () => {
  // Ctrl-C, as the docs say, then the whole process group if it is still there.
  for (const { child } of background) process.kill(-child.pid!, 'SIGINT');
  await Promise.all(
    background.map(({ child, exited }) =>
      Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]).then(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }),
    ),
  );
  const notRun = shellBlocks.filter((b) => b.test?.notRunHere !== undefined);
  console.log(
    [
      `docs test: ${shellBlocks.length} shell blocks in ${files.length} files; ` +
        `${ran.filter((b) => SHELL_LANGS.has(b.lang)).length} ran, ${notRun.length} not runnable here, ` +
        `${runnable.filter((b) => b.test!.file).length} files written from the docs`,
      ...notRun.map((b) => `  not run: ${b.file}:${b.line} ${firstLine(b.code)}  (${b.test!.notRunHere})`),
    ].join('\n'),
  );
  rmSync(scratch, { recursive: true, force: true });
});

test('every guide under docs/ is linked from the README', () => {
  const guides = readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  expect(guides.filter((g) => !files.includes(g))).toEqual([]);
});

test('every relative link of the README and the guides leads to a file and heading that exist', () => {
  const slug = (heading: string): string =>
    heading
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-');
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(REPO, file), 'utf8');
    for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(link)) continue;
      const [path, anchor] = link.split('#');
      const target = path ? join(dirname(join(REPO, file)), path) : join(REPO, file);
      if (!existsSync(target)) broken.push(`${file}: ${link} (no such file)`);
      else if (anchor && target.endsWith('.md')) {
        const headings = [...readFileSync(target, 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]));
        if (!headings.includes(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
  }
  expect(broken).toEqual([]);
});

test('every shell block says how it is tested (run, or why not)', () => {
  const unmarked = shellBlocks.filter((b) => !b.test).map((b) => `${b.file}:${b.line} ${firstLine(b.code)}`);
  expect(unmarked).toEqual([]);
  expect(runnable.length).toBeGreaterThan(0);
});

// Guides of prose and config only (no runnable block) are counted above; there is nothing to run.
describe.each(files.filter((f) => runnable.some((b) => b.file === f)))('%s', (file) => {
  const own = runnable.filter((b) => b.file === file);
  test.each(own.map((b) => [`line ${b.line}: ${firstLine(b.code)}`, b] as const))(
    '%s',
    async (_name, block) => {
      await runBlock(block, blocks.indexOf(block));
      ran.push(block);
    },
    // A block's own timeout, and time for an `eventually` block's last try.
    own.reduce((max, b) => Math.max(max, b.test!.timeoutSeconds), 0) * 1000 + 30_000,
  );
});
