import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { checkConfigAgent, type ConfigAgent, type ConfigAgentEntry } from '../agents/fromConfig';
import { builtinAgents } from '../agents';
import { agentEntrySchema } from './agentSchema';
import { limitsNarrowingSchema } from './schema';

/** An agent file holds one agent, or a list of them. */
const agentFileSchema = z.union([
  agentEntrySchema(limitsNarrowingSchema),
  z.array(agentEntrySchema(limitsNarrowingSchema)).max(200),
]);

/** `[0].plan[2].input.path` */
export function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * The files an `agentFiles` entry names, relative to the config's directory: a file, or a `*` pattern
 * in the last part of the path (`agents/*.yaml`), matched in sorted order. Nothing else is a pattern.
 */
export function expandAgentFiles(pattern: string, baseDir: string): string[] {
  const full = resolve(baseDir, pattern);
  const name = basename(full);
  if (!name.includes('*')) return existsSync(full) ? [full] : [];
  const dir = dirname(full);
  if (dir.includes('*') || !existsSync(dir)) return [];
  const regex = new RegExp(
    `^${name
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return readdirSync(dir)
    .filter((f) => regex.test(f) && !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

interface Declared {
  entry: ConfigAgentEntry;
  file: string;
  /** The entry's path inside its file (`agents[0]`, `[1]`, or `` for a file of one agent). */
  path: (string | number)[];
}

/** Problems of one file, in the config loader's format: `FILE is invalid:\n  path: message`. */
function report(file: string, lines: string[]): string {
  return `${file} is invalid:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/**
 * The agents a config declares (its `agents:`, then each file of `agentFiles:`), checked like
 * built-in agents; every problem names the file and the path inside it. `source` is how the config
 * file is named in messages (its path), `baseDir` the directory `agentFiles` are relative to.
 */
export function loadConfigAgents(
  config: { agents: ConfigAgentEntry[]; agentFiles: string[] },
  source: string,
  baseDir: string,
): { agents: ConfigAgent[]; problems: string[] } {
  const problems = new Map<string, string[]>();
  const add = (file: string, line: string) => problems.set(file, [...(problems.get(file) ?? []), line]);
  const declared: Declared[] = config.agents.map((entry, i) => ({
    entry,
    file: source,
    path: ['agents', i],
  }));

  config.agentFiles.forEach((pattern, i) => {
    const files = expandAgentFiles(pattern, baseDir);
    if (files.length === 0)
      add(source, `agentFiles[${i}]: ${pattern} matches no file (relative to ${baseDir})`);
    for (const file of files) {
      const shown = relative(process.cwd(), file) || file;
      let raw: unknown;
      try {
        raw = parse(readFileSync(file, 'utf8'));
      } catch (err) {
        add(shown, `(top level): not valid YAML: ${(err as Error).message}`);
        continue;
      }
      const parsed = agentFileSchema.safeParse(raw);
      if (!parsed.success) {
        // a union's issues: report those of the branch the file's shape chose
        const single = !Array.isArray(raw);
        const branch = agentEntrySchema(limitsNarrowingSchema);
        const issues = single
          ? branch.safeParse(raw).error?.issues
          : z.array(branch).max(200).safeParse(raw).error?.issues;
        for (const issue of issues ?? parsed.error.issues)
          add(shown, `${pathText(issue.path) || '(top level)'}: ${issue.message}`);
        continue;
      }
      const entries = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
      entries.forEach((entry, j) =>
        declared.push({ entry, file: shown, path: Array.isArray(parsed.data) ? [j] : [] }),
      );
    }
  });

  const names = new Map<string, string>(builtinAgents.map((a) => [a.name, 'a built-in agent']));
  const agents: ConfigAgent[] = [];
  for (const { entry, file, path } of declared) {
    const where = pathText(path);
    const at = (rest: (string | number)[]) => pathText([...path, ...rest]) || '(top level)';
    const earlier = names.get(entry.name);
    if (earlier) add(file, `${at(['name'])}: agent ${entry.name} is already defined (${earlier})`);
    names.set(entry.name, `${file}${where ? ` ${where}` : ''}`);
    const checked = checkConfigAgent(entry);
    for (const p of checked.problems) add(file, `${at(p.path)}: ${p.message}`);
    if (checked.agent && !earlier) agents.push({ ...entry, from: file });
  }
  return { agents, problems: [...problems].map(([file, lines]) => report(file, lines)) };
}
