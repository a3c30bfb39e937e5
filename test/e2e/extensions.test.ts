/**
 * The steward CLI with an agent from an agent file and a tool from an MCP server: listed with where
 * they come from, refused until the server is accepted, accepted with `steward tools accept`, then
 * run by a `steward worker` under the same approval as a built-in tool.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { CliProcess, runCli, stopAllCli, type CliEnv } from '../support/cliProcess';
import { uniqueName } from '../support/harness';

jest.setTimeout(90_000);

const REPO = resolve(__dirname, '../..');
const TSX = require.resolve('tsx/cjs', { paths: [REPO] });
const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'cli-ext-'));
const workspace = join(dir, 'workspace');
const configFile = join(dir, 'steward.yaml');
const env: CliEnv = { config: configFile, dataDir: join(dir, 'data'), cwd: dir };
const steward = (...args: string[]) => runCli(args, env);
let worker: CliProcess | undefined;

beforeAll(async () => {
  mkdirSync(join(workspace, 'notes'), { recursive: true });
  mkdirSync(join(dir, 'agents'));
  writeFileSync(
    join(dir, 'agents', 'echo-note.yaml'),
    stringify({
      name: 'echo-note',
      description: 'Echoes a text through an MCP server and writes it to a note',
      instructions: 'none',
      tools: ['test__echo', 'write_file'],
      inputSchema: {
        type: 'object',
        properties: { text: { type: 'string', minLength: 1 } },
        required: ['text'],
        additionalProperties: false,
      },
      plan: [
        { id: 'echo', kind: 'tool', tool: 'test__echo', input: { text: '{{input.text}}' } },
        {
          id: 'write',
          kind: 'tool',
          tool: 'write_file',
          input: { path: 'notes/echo.md', content: '{{steps.echo.output.text}}' },
        },
        { id: 'done', kind: 'finish', result: 'wrote {{steps.write.output.bytes}} bytes' },
      ],
    }),
  );
  writeFileSync(
    configFile,
    stringify({
      temporal: { taskQueue: uniqueName('cli-ext') },
      // the plan calls no model; a route is configured so that no weights are loaded (run from source)
      providers: { none: { kind: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1' } },
      models: [{ id: 'none', provider: 'none', model: 'none', trust: 'local' }],
      computeNodes: [{ id: 'local', taskQueue: uniqueName('cli-ext-node'), trust: 'local' }],
      tools: { workspace },
      policy: { approval: { approvers: ['alice'] } },
      agentFiles: ['agents/*.yaml'],
      mcpServers: {
        test: {
          command: process.execPath,
          args: ['--require', TSX, join(REPO, 'test', 'support', 'mcpTestServer.ts')],
          tools: { echo: { effect: 'read', openWorld: false } },
        },
      },
    }),
  );
});

afterAll(async () => {
  if (worker?.running) await worker.stop();
  await stopAllCli();
});

test('steward agents lists the agent with the file it comes from', async () => {
  const { code, stdout } = await steward('agents');
  expect(code).toBe(0);
  expect(stdout).toMatch(/^notes-digest\s+.*\(built-in\)$/m);
  expect(stdout).toMatch(/^echo-note\s+Echoes a text .*\(agents\/echo-note\.yaml\)$/m);
});

test('before the MCP server is accepted, run refuses the agent and says what to do', async () => {
  const { code, stderr } = await steward('run', 'echo-note', '--input-json', '{"text":"hi"}', '--detach');
  expect(code).not.toBe(0);
  expect(stderr).toContain('tool test__echo is unavailable: MCP server test has not been accepted yet');
  expect(stderr).toContain('steward tools accept test');
});

test('steward tools accept shows the tools, how they are treated and their pins; steward tools lists them', async () => {
  const accepted = await steward('tools', 'accept', 'test');
  expect(accepted.code).toBe(0);
  expect(accepted.stdout).toMatch(/^MCP server test: 8 tools accepted$/m);
  expect(accepted.stdout).toMatch(/^ {2}test__echo\s+new\s+read\s+returns internal\s+input reaches local$/m);
  expect(accepted.stdout).toMatch(
    /^ {2}test__record\s+new\s+irreversible\s+returns internal\s+input reaches public$/m,
  );
  expect(accepted.stdout).toMatch(/^ {6}sha256 [0-9a-f]{64}$/m);
  const listed = await steward('tools');
  expect(listed.stdout).toMatch(/^read_file\s+read\s+returns internal\s*$/m);
  expect(listed.stdout).toMatch(/^test__echo\s+read\s+returns internal\s+input reaches local$/m);
});

test('a worker runs the agent: the MCP tool without asking, the write after an approval that names its definition', async () => {
  worker = new CliProcess(['worker'], env);
  await worker.waitFor('worker running', { timeoutMs: 60_000 });
  expect(worker.stdout).toMatch(/^MCP server test: 8 of 8 tools offered$/m);
  const run = new CliProcess(
    ['run', 'echo-note', '--input-json', '{"text":"hello from MCP"}', '--interactive'],
    env,
  );
  await run.waitFor(/step +\d+ +tool: test__echo/);
  await run.waitFor(/Approval needed \(\S+\): write_file/);
  await run.waitFor(/tool definition: sha256 [0-9a-f]{64}/);
  await run.waitFor('Approve as alice?');
  run.write('y\n');
  await run.waitFor(/completed in .* · \d+ steps/);
  expect((await run.done()).code).toBe(0);
  expect(run.stdout).toContain('result: wrote 14 bytes');
  expect(readFileSync(join(workspace, 'notes', 'echo.md'), 'utf8')).toBe('hello from MCP');
});
