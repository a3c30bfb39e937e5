import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { StewardError } from '../errors';

/** The CLI version whose module can be `go install`ed (later tags carry a `replace` directive). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export class TemporalCliMissing extends StewardError {}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function goBinDir(): string | undefined {
  if (!onPath('go')) return undefined;
  const gobin = spawnSync('go', ['env', 'GOBIN'], { encoding: 'utf8' }).stdout?.trim();
  if (gobin) return gobin;
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).stdout?.trim();
  return gopath ? join(gopath.split(delimiter)[0]!, 'bin') : undefined;
}

/** Finds the Temporal CLI: `TEMPORAL_CLI_PATH`, then `temporal` on PATH, then Go's bin directory. */
export function findTemporalCli(): string | undefined {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new TemporalCliMissing(`TEMPORAL_CLI_PATH=${explicit} does not exist`);
    return explicit;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const goBin = goBinDir();
  if (goBin && existsSync(join(goBin, 'temporal'))) return join(goBin, 'temporal');
  return undefined;
}

const HOW_TO_GET_ONE = [
  'Steward needs the Temporal CLI to run its embedded dev server. Any one of these works:',
  '  - set TEMPORAL_CLI_PATH to a temporal binary you have;',
  `  - install Go (https://go.dev/dl/); Steward then builds the CLI once with go install ${TEMPORAL_CLI_MODULE};`,
  '  - set TEMPORAL_ADDRESS to a Temporal server that is already running (host:port).',
].join('\n');

/**
 * Finds the CLI or builds it with Go (3–4 minutes on 2 cores, once: the binary stays in Go's bin
 * directory and is found there next time). Without Go and without a CLI, says the ways out.
 */
export async function ensureTemporalCli(
  report: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  const found = findTemporalCli();
  if (found) return found;
  const goBin = goBinDir();
  if (!goBin) throw new TemporalCliMissing(HOW_TO_GET_ONE);
  report(
    `Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) with Go. This happens once and takes 3-4 minutes on 2 cores…`,
  );
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', TEMPORAL_CLI_MODULE], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ticker = setInterval(
      () => report(`  …still building (${Math.round((Date.now() - started) / 1000)} s)`),
      20_000,
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else
        reject(
          new TemporalCliMissing(
            `go install ${TEMPORAL_CLI_MODULE} failed (exit ${code}):\n${stderr.slice(-2000)}\n\n${HOW_TO_GET_ONE}`,
          ),
        );
    });
  });
  const built = join(goBin, 'temporal');
  if (!existsSync(built))
    throw new TemporalCliMissing(`go install finished but ${built} is missing.\n\n${HOW_TO_GET_ONE}`);
  report(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${built}`);
  return built;
}
