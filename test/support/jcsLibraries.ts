import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * RFC 8785 libraries Steward does not use, each run as its own process on JSON lines: Python's
 * `rfc8785` (pinned in .ci/run) and npm's `canonicalize` (a devDependency, ESM-only).
 */

const REPO = join(__dirname, '..', '..');

/** Each JSON line canonicalized by an outside library: its canonical text, or `ERR <why>`. */
export function outside(library: 'python rfc8785' | 'npm canonicalize', lines: string[]): string[] {
  const run =
    library === 'python rfc8785'
      ? spawnSync(
          'python3',
          [
            '-c',
            `import sys, json, rfc8785
for line in sys.stdin.buffer.read().decode("utf-8").split("\\n"):
    try:
        print(json.dumps(rfc8785.dumps(json.loads(line)).decode("utf-8")))
    except Exception as e:
        print(json.dumps("ERR " + type(e).__name__))`,
          ],
          { input: lines.join('\n'), encoding: 'utf8', cwd: REPO },
        )
      : spawnSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `import canonicalize from 'canonicalize';
let text = '';
process.stdin.on('data', (d) => (text += d)).on('end', () => {
  for (const line of text.split('\\n')) {
    try { console.log(JSON.stringify(canonicalize(JSON.parse(line)))); }
    catch (e) { console.log(JSON.stringify('ERR ' + e.message)); }
  }
});`,
          ],
          { input: lines.join('\n'), encoding: 'utf8', cwd: REPO },
        );
  expect({ library, status: run.status, stderr: run.stderr }).toEqual({ library, status: 0, stderr: '' });
  return run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string);
}
