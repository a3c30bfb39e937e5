/**
 * The steward command: global flags (--debug, --help), finding the command, loading the config,
 * and saying what went wrong. Each command lives in ./commands/.
 */
import { loadConfig } from '../config/load';
import { ArgumentError, GLOBAL_OPTIONS, note, say, type Command } from './command';
import { COMMANDS } from './commands';
import { explain } from './explain';

export { explain } from './explain';

export function usage(): string {
  const column = 45; // where the summaries start; a longer synopsis puts its summary on the next line
  const row = (left: string, summary: string) =>
    left.length < column - 3
      ? `  ${left.padEnd(column - 2)}${summary}`
      : `  ${left}\n${' '.repeat(column)}${summary}`;
  const globals = Object.entries(GLOBAL_OPTIONS).map(([key, spec]) =>
    row(`${'short' in spec ? `-${spec.short}, ` : ''}--${key}`, spec.description),
  );
  return [
    'steward: run AI agent tasks as durable, controlled, auditable Temporal workflows',
    '',
    'Usage:',
    ...COMMANDS.map((c) => row(c.synopsis, c.summary)),
    '',
    'Global options:',
    ...globals,
    '',
    'Connection: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, else a running `steward dev`, else (dev, run) an',
    'embedded server. Config: STEWARD_CONFIG or ./steward.yaml. `steward <command> --help` for more.',
  ].join('\n');
}

/** Runs the command line; returns the exit code (2 for a command line that is wrong) and never throws. */
export async function main(argv: string[]): Promise<number> {
  const debug = wantsDebug(argv);
  // the rest of the process (the workflow bundler's report, say) reads it from there
  if (debug) process.env.STEWARD_DEBUG = '1';
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof ArgumentError) {
      note(`${explain(err, { debug })}\n\n${err.usage}`);
      return 2;
    }
    note(explain(err, { debug }));
    return 1;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const flags = leadingFlags(argv);
  const [name, ...rest] = argv.slice(flags.length);
  for (const flag of flags) {
    if (!['--debug', '--help', '-h'].includes(flag))
      throw new ArgumentError(`unknown option ${flag}`, usage());
  }
  const help = flags.includes('--help') || flags.includes('-h');
  if (name === undefined || name === 'help') {
    const about = name === 'help' && rest[0] !== undefined ? findCommand(rest[0]) : undefined;
    say(about ? about.usage : usage());
    return name === undefined && !help ? 2 : 0;
  }
  const command = findCommand(name);
  const invocation = command.parse(rest);
  if (help || invocation.help) {
    say(command.usage);
    return 0;
  }
  return invocation.run(loadConfig());
}

/** The options before the command's name: only the global ones may be there. */
function leadingFlags(argv: string[]): string[] {
  const name = argv.findIndex((arg) => !arg.startsWith('-'));
  return name < 0 ? argv : argv.slice(0, name);
}

/** --debug, before the command's name or after it (but not after a `--`), or STEWARD_DEBUG=1. */
function wantsDebug(argv: string[]): boolean {
  const end = argv.indexOf('--');
  if (['1', 'true'].includes(process.env.STEWARD_DEBUG ?? '')) return true;
  return (end < 0 ? argv : argv.slice(0, end)).includes('--debug');
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new ArgumentError(`unknown command ${name}`, usage());
  return command;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      note(explain(err));
      process.exit(1);
    },
  );
}
