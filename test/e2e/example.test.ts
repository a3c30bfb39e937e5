import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { modelFilePath } from '../../src/weights/manifest';
import { ensureModel } from '../../src/weights';
import { testAddress } from '../support/harness';

const run = promisify(execFile);
const REPO = resolve(__dirname, '../..');
const EXAMPLE = join(REPO, 'examples', 'ticket-triage');
const DATA_DIR = process.env.STEWARD_DATA_DIR ?? join(REPO, '.steward');

/** The environment of a user's shell: no Steward settings of the test run leak into the example. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of ['STEWARD_CONFIG', 'STEWARD_DATA_DIR', 'STEWARD_TEST_RUNTIME_INSTALLED', 'NODE_OPTIONS'])
    delete env[name];
  return env;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function builtAt(file: string): number {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

/**
 * The example project as a user has it: a copy outside this repository that depends on Steward as a
 * package (the built package, linked as `npm install` links a `file:` dependency), installs its own
 * dependencies, compiles against Steward's published types, and runs a task on the suite's server.
 */
describe('examples/ticket-triage', () => {
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'example-'));
  const project = join(dir, 'ticket-triage');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('installs, builds against the package, and runs a task to completion with the tool’s effect', async () => {
    // The package as it would be published: dist/ with its declarations (built by `npm ci`'s prepare;
    // built again here when the sources are newer).
    if (newestSource(join(REPO, 'src')) > builtAt(join(REPO, 'dist', 'index.d.ts'))) {
      await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO }).catch(
        (err: { stdout?: string }) => {
          throw new Error(`steward does not build:\n${err.stdout ?? String(err)}`);
        },
      );
    }

    cpSync(EXAMPLE, project, {
      recursive: true,
      filter: (src) => !/[/\\](node_modules|dist|\.steward|tickets|workspace)$/.test(src),
    });
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    expect(manifest.dependencies.steward).toBe('file:../..'); // as committed: the package, not src/
    manifest.dependencies.steward = `file:${REPO}`;
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
    // The example's own dependencies pin the versions this repo installs, so npm's cache has them;
    // none has an install script, and Steward's own (prepare: build) has run above.
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], {
      cwd: project,
      env: userEnv({}),
    });
    await run(
      process.execPath,
      [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      {
        cwd: project,
      },
    );

    // The example needs no model, but a worker with the default route loads the embedded one: share
    // the suite's verified copy instead of fetching it again.
    const modelPath = await ensureModel({ dataDir: DATA_DIR });
    const seeded = modelFilePath(join(project, '.steward'));
    mkdirSync(resolve(seeded, '..'), { recursive: true });
    symlinkSync(modelPath, seeded);

    const { stdout } = await run(process.execPath, ['dist/main.js', 'T-42'], {
      cwd: project,
      env: userEnv({ TEMPORAL_ADDRESS: testAddress(), STEWARD_LOG_LEVEL: 'warn' }),
      timeout: 90_000,
    });
    expect(stdout).toContain('approval approval-2: file_ticket');
    expect(stdout).toContain('approved by lead');
    expect(stdout).toContain('completed: Filed T-42 as billing (high priority) in billing/T-42.json.');
    expect(stdout).toMatch(/audit: \d+ entries, chain verified/);
    const filed = JSON.parse(readFileSync(join(project, 'tickets', 'billing', 'T-42.json'), 'utf8'));
    expect(filed).toMatchObject({ id: 'T-42', category: 'billing', priority: 'high' });
    expect(filed.filedBy).toMatch(/^ticket-triage-[0-9a-f]{8}:2$/);
  }, 240_000);
});
