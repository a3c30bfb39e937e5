/** Each command parses its own options: unknown ones are refused with its usage; --help is its own. */
import { ArgumentError, defineCommand, portOption, UsageError } from '../../src/cli/command';
import { COMMANDS } from '../../src/cli/commands';
import { main } from '../../src/cli/main';
import type { LoadedConfig } from '../../src/config/load';

const command = (name: string) => COMMANDS.find((c) => c.name === name)!;

function refusal(name: string, argv: string[]): ArgumentError {
  try {
    command(name).parse(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ArgumentError);
    return err as ArgumentError;
  }
  throw new Error(`steward ${name} ${argv.join(' ')} was accepted`);
}

test('the commands are the ones the CLI documents, each once', () => {
  expect(COMMANDS.map((c) => c.name)).toEqual([
    'dev',
    'serve',
    'worker',
    'node',
    'run',
    'approve',
    'reject',
    'cancel',
    'status',
    'list',
    'audit',
    'replay',
    'policy',
    'budget',
    'keys',
    'agents',
    'tools',
    'tokens',
    'models',
  ]);
});

describe.each(COMMANDS.map((c) => [c.name]))('steward %s', (name) => {
  test('refuses an unknown option, naming it, with its own usage', () => {
    const err = refusal(name, ['--frobnicate']);
    expect(err.message).toBe(`unknown option --frobnicate for ${name}`);
    expect(err.usage).toBe(command(name).usage);
    expect(err.usage).toMatch(new RegExp(`^Usage: steward ${name}\\b`));
  });

  test('--help and -h ask for its usage, which lists its options', () => {
    expect(command(name).parse(['--help']).help).toBe(true);
    expect(command(name).parse(['-h']).help).toBe(true);
    expect(command(name).usage).toContain('-h, --help');
    expect(command(name).usage).toContain('--debug');
  });

  test('takes --debug (a global flag) like any option', () => {
    expect(command(name).parse(['--debug']).help).toBe(false);
  });
});

test('run takes its options and its agent, and refuses a second argument', () => {
  const run = command('run');
  expect(run.parse(['notes-digest', '--input-json', '{}', '--as', 'bob', '--detach']).help).toBe(false);
  expect(run.parse(['notes-digest', '--input=in.json', '--interactive']).help).toBe(false);
  expect(refusal('run', ['notes-digest', 'extra']).message).toBe('unexpected argument "extra" for run');
  expect(refusal('run', ['notes-digest', '--as']).message).toBe('--as needs a value');
  expect(refusal('run', ['notes-digest', '--detach=yes']).message).toBe('--detach takes no value');
  expect(refusal('run', ['notes-digest', '--as', '--detach']).message).toBe(
    '--as needs a value (write --as=-… for one that starts with -)',
  );
  // another command's option is not run's
  expect(refusal('run', ['notes-digest', '--json']).message).toBe('unknown option --json for run');
  expect(run.usage).toContain('--input-json JSON');
  expect(run.usage).toContain('--as PRINCIPAL');
});

test('replay takes any number of task ids and files, and its options', () => {
  const replay = command('replay');
  expect(replay.parse(['a.json', 'b.json', 'notes-digest-1a2b3c4d', '--json']).help).toBe(false);
  expect(replay.parse(['--query', "WorkflowType='agentRun'", '--limit', '5']).help).toBe(false);
  expect(replay.parse(['task-1', '--run', 'run-1', '--bundle', 'bundle.js']).help).toBe(false);
  expect(refusal('replay', ['a.json', '--frobnicate']).message).toBe(
    'unknown option --frobnicate for replay',
  );
  expect(refusal('replay', ['--query']).message).toBe('--query needs a value');
  expect(replay.usage).toMatch(/^Usage: steward replay <taskId \| history\.json>\.\.\. /);
});

test("a command's run receives its typed options and arguments", async () => {
  const seen: unknown[] = [];
  const demo = defineCommand({
    name: 'demo',
    summary: 'a command for this test',
    args: ['what'],
    options: {
      count: { type: 'string', value: 'N', description: 'how many' },
      quiet: { type: 'boolean', description: 'say less' },
    },
    async run({ args, options }) {
      const count: string | undefined = options.count;
      const quiet: boolean | undefined = options.quiet;
      seen.push(args, count, quiet);
      return 0;
    },
  });
  expect(await demo.parse(['thing', '--count', '3', '--quiet']).run({} as LoadedConfig)).toBe(0);
  expect(seen).toEqual([['thing'], '3', true]);
  expect(demo.usage).toBe(
    [
      'Usage: steward demo',
      '',
      'A command for this test.',
      '',
      'Options:',
      '  --count N    how many',
      '  --quiet      say less',
      '  -h, --help   show this help',
      "  --debug      print an error's stack trace and the workflow bundler's report (or STEWARD_DEBUG=1)",
    ].join('\n'),
  );
});

test('ports are checked', () => {
  expect(portOption(undefined, 'port')).toBeUndefined();
  expect(portOption('7233', 'port')).toBe(7233);
  expect(() => portOption('seventy', 'port')).toThrow(UsageError);
  expect(() => portOption('70000', 'ui-port')).toThrow('--ui-port must be a port number, got 70000');
});

describe('through main', () => {
  let stdout: string;
  let stderr: string;
  beforeEach(() => {
    stdout = '';
    stderr = '';
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  });
  afterEach(() => jest.restoreAllMocks());

  test('steward run --help prints run usage and exits 0, without reading the config', async () => {
    const saved = process.env.STEWARD_CONFIG;
    process.env.STEWARD_CONFIG = '/nonexistent/steward.yaml';
    try {
      expect(await main(['run', '--help'])).toBe(0);
      expect(await main(['--help', 'run'])).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.STEWARD_CONFIG;
      else process.env.STEWARD_CONFIG = saved;
    }
    expect(stdout).toBe(`${command('run').usage}\n${command('run').usage}\n`);
    expect(stderr).toBe('');
  });

  test('an unknown option is refused with the usage of the command, exit 2', async () => {
    expect(await main(['status', 'some-task', '--jsn'])).toBe(2);
    expect(stderr).toBe(`steward: unknown option --jsn for status\n\n${command('status').usage}\n`);
    expect(stdout).toBe('');
  });
});
