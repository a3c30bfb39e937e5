/**
 * What a command of the steward CLI is: its name, its usage, its own options (parsed with
 * `node:util` parseArgs, unknown ones refused), and what it does with the loaded config.
 */
import { parseArgs } from 'node:util';
import type { LoadedConfig } from '../config/load';
import { StewardError } from '../errors';

export const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
export const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The command line asked for something that cannot be done as asked (a missing --as, a bad port). */
export class UsageError extends StewardError {}

/** The command line itself is wrong (unknown command or option, an extra argument): shown with the usage. */
export class ArgumentError extends UsageError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** How a string option's value is shown in the usage: FILE, N, IDENTITY. */
  value?: string;
  description: string;
}
export type OptionSpecs = Record<string, OptionSpec>;

/** The parsed values of a command's options, typed from their specs. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  debug: {
    type: 'boolean',
    description: "print an error's stack trace and the workflow bundler's report (or STEWARD_DEBUG=1)",
  },
} as const satisfies OptionSpecs;

export interface CommandInput<O extends OptionSpecs> {
  config: LoadedConfig;
  /** The positional arguments, at most as many as the command names. */
  args: string[];
  options: OptionValues<O>;
}

export interface CommandDefinition<O extends OptionSpecs> {
  name: string;
  /** What follows the name in the usage: `<agent> [--detach]`. */
  synopsis?: string;
  /** One line for the list of commands. */
  summary: string;
  /** More about the command, shown by its --help. */
  details?: string;
  /** The positional arguments it takes, in order, as the usage names them; more are refused. */
  args?: string[];
  /** The last of `args` may be given any number of times (`steward replay <file|taskId>...`). */
  variadic?: boolean;
  options: O;
  run(input: CommandInput<O>): Promise<number>;
}

/** A command whose arguments are parsed and which is ready to run. */
export interface Invocation {
  help: boolean;
  run(config: LoadedConfig): Promise<number>;
}

export interface Command {
  readonly name: string;
  readonly synopsis: string;
  readonly summary: string;
  /** The command's --help: usage, what it does, its options. */
  readonly usage: string;
  /** Parses the arguments after the command's name; throws ArgumentError for what it does not take. */
  parse(argv: string[]): Invocation;
}

export function defineCommand<O extends OptionSpecs>(definition: CommandDefinition<O>): Command {
  const { name, summary, options } = definition;
  const synopsis = [`steward ${name}`, definition.synopsis].filter(Boolean).join(' ');
  const usage = usageText(synopsis, summary, definition.details, { ...options, ...GLOBAL_OPTIONS });
  return {
    name,
    synopsis,
    summary,
    usage,
    parse(argv) {
      const { values, positionals } = parseOptions(argv, { ...options, ...GLOBAL_OPTIONS }, name, usage);
      const expected = definition.args ?? [];
      if (!values.help && !definition.variadic && positionals.length > expected.length) {
        const extra = positionals[expected.length];
        throw new ArgumentError(`unexpected argument ${JSON.stringify(extra)} for ${name}`, usage);
      }
      return {
        help: values.help === true,
        run: (config) => definition.run({ config, args: positionals, options: values as OptionValues<O> }),
      };
    },
  };
}

function parseOptions(
  argv: string[],
  specs: OptionSpecs,
  command: string,
  usage: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(specs).map(([key, { type, short }]) => [key, short ? { type, short } : { type }]),
  );
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ArgumentError(argumentProblem(err as Error & { code?: string }, command), usage);
  }
}

/** parseArgs's messages, said shorter and naming the command. */
function argumentProblem(err: Error & { code?: string }, command: string): string {
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted} for ${command}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = quoted.split(' ')[0];
      if (/argument missing/.test(err.message)) return `${option} needs a value`;
      if (/ambiguous/.test(err.message))
        return `${option} needs a value (write ${option}=-… for one that starts with -)`;
      return `${option} takes no value`;
    }
    default:
      return err.message;
  }
}

function usageText(synopsis: string, summary: string, details: string | undefined, specs: OptionSpecs) {
  const rows = Object.entries(specs).map(([key, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${key}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 3;
  return [
    `Usage: ${synopsis}`,
    '',
    `${summary[0].toUpperCase()}${summary.slice(1)}.`,
    ...(details ? ['', details] : []),
    '',
    'Options:',
    ...rows.map(([flag, description]) => `  ${flag.padEnd(width)}${description}`),
  ].join('\n');
}

/** A TCP port given as an option, or undefined when the option is absent. */
export function portOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535)
    throw new UsageError(`--${name} must be a port number, got ${value}`);
  return n;
}

/** A string option the command cannot do without. */
export function required(value: string | undefined, name: string, command: string): string {
  if (!value) throw new UsageError(`${command} needs --${name}`);
  return value;
}
