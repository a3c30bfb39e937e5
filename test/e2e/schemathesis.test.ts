/**
 * Schemathesis (Python, pinned) against the front door's own /openapi.json, served by a real API on a
 * worker of the suite's Temporal server: every check it has (server errors, status codes, content
 * types, response schemas, rejected bad data, accepted good data, auth ignored, undeclared methods…)
 * must pass. Bounded: a fixed seed, a fixed number of examples per operation, one worker.
 *
 * Schemathesis (the version in schemathesis.requirements.txt) is found as SCHEMATHESIS_PATH, then the
 * venv .ci/run makes (~/.cache/steward/schemathesis), then `st` on PATH; without it the test fails,
 * saying how to install it. Its settings, and why each is there, are in schemathesis.toml.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATIONS } from '../../src/api/openapi';
import { startFrontDoorFixture, type FrontDoorFixture } from '../support/frontDoor';

/** The pin, in one place: .ci/run installs from the same file. */
const SCHEMATHESIS_VERSION = /schemathesis==([0-9.]+)/.exec(
  readFileSync(join(__dirname, 'schemathesis.requirements.txt'), 'utf8'),
)![1]!;
const EXAMPLES = 12;
const SEED = 18;

jest.setTimeout(240_000);

function findSchemathesis(): string {
  const candidates = [
    process.env.SCHEMATHESIS_PATH,
    join(homedir(), '.cache', 'steward', 'schemathesis', 'bin', 'st'),
    'st',
  ].filter((c): c is string => !!c && (c === 'st' || existsSync(c)));
  for (const candidate of candidates) {
    const res = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (res.status === 0 && res.stdout.includes(`version ${SCHEMATHESIS_VERSION}`)) return candidate;
  }
  throw new Error(
    `schemathesis ${SCHEMATHESIS_VERSION} not found (SCHEMATHESIS_PATH, ~/.cache/steward/schemathesis/bin/st, st on PATH): ` +
      `python3 -m venv ~/.cache/steward/schemathesis && ~/.cache/steward/schemathesis/bin/pip install schemathesis==${SCHEMATHESIS_VERSION} (.ci/run does this)`,
  );
}

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The failures section and the summary, each line cut short (a generated body can be pages long). */
function failures(output: string): string {
  const from = output.indexOf('FAILURES');
  return (from >= 0 ? output.slice(from) : output)
    .split('\n')
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line))
    .join('\n')
    .slice(0, 20_000);
}

let door: FrontDoorFixture;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'steward-schemathesis-'));
  door = await startFrontDoorFixture();
});
afterAll(async () => {
  await door?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`schemathesis ${SCHEMATHESIS_VERSION} finds no failure against /openapi.json`, async () => {
  const st = findSchemathesis();
  const spec = await door.call('GET', '/openapi.json', { as: 'root' });
  expect(spec.status).toBe(200);
  const specPath = join(dir, 'openapi.json');
  writeFileSync(specPath, JSON.stringify(spec.body));
  const report = join(dir, 'report.json');
  const { code, output } = await run(
    st,
    [
      '--config-file',
      join(__dirname, 'schemathesis.toml'),
      'run',
      specPath,
      '--url',
      door.url,
      '--header',
      `Authorization: Bearer ${door.tokens.root}`,
      '--checks',
      'all',
      '--max-examples',
      String(EXAMPLES),
      '--seed',
      String(SEED),
      '--workers',
      '1',
      '--request-timeout',
      '20',
      '--report',
      'json',
      '--report-json-path',
      report,
    ],
    200_000,
  );
  if (code !== 0) throw new Error(`schemathesis exited ${code}:\n${failures(output)}`);
  // it ran every operation, many cases each, and found nothing
  expect(output).toMatch(new RegExp(`Tested: ${OPERATIONS.length}\\b`));
  const generated = Number(/(\d+) generated/.exec(output)?.[1] ?? 0);
  expect(generated).toBeGreaterThan(400);
  expect(output).toContain(`${generated} generated, ${generated} passed`);
  expect(existsSync(report)).toBe(true);
});
