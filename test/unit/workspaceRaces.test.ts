import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rename, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileTools } from '../../src/tools/files';
import { Workspace } from '../../src/tools/workspace';
import { failureOf } from '../support/failures';

let root: string;
let workspace: string;
let outside: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'steward-ws-races-'));
  workspace = join(root, 'ws');
  outside = join(root, 'outside');
  mkdirSync(workspace);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Every directory below `dir`. */
function directoriesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

describe('write_file makes its directories inside the workspace only', () => {
  test('an ancestor swapped for a symlink to outside while nested writes run: no directory is made outside', async () => {
    const ws = new Workspace(workspace);
    mkdirSync(join(workspace, 'a.real'));
    await symlink('a.real', join(workspace, 'a'));
    let stop = false;
    let swaps = 0;
    // workspace/a is a symlink, swapped atomically (rename) between a directory inside and one outside
    const swapper = (async () => {
      while (!stop) {
        const target = swaps % 2 ? 'a.real' : outside;
        await symlink(target, join(workspace, `.a-${swaps}`));
        await rename(join(workspace, `.a-${swaps}`), join(workspace, 'a'));
        swaps++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const outcomes = { written: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      try {
        await ws.write(join('a', `b${i}`, 'c', 'note.md'), `note ${i}`);
        outcomes.written++;
      } catch {
        outcomes.refused++;
      }
    }
    stop = true;
    await swapper;
    expect(directoriesIn(outside)).toEqual([]);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    // the race was run: writes landed inside and were refused outside, while the link kept changing
    expect(swaps).toBeGreaterThan(10);
    expect(outcomes.written).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  test('a symlink to a directory inside the workspace is still written through', async () => {
    mkdirSync(join(workspace, 'documentation'));
    await symlink('documentation', join(workspace, 'docs'));
    await new Workspace(workspace).write('docs/new/page.md', 'hello');
    expect(readFileSync(join(workspace, 'documentation', 'new', 'page.md'), 'utf8')).toBe('hello');
  });
});

describe('read_file does not read a file through a hard link', () => {
  test('a hard link planted in the workspace to a file outside is refused, naming why', async () => {
    linkSync(join(outside, 'secret.txt'), join(workspace, 'innocent.txt'));
    const [readFile] = fileTools(new Workspace(workspace), 1024);
    const refused = await failureOf(readFile!.handler({ path: 'innocent.txt' }, {} as never));
    expect(refused.type).toBe('ToolRejected');
    expect(refused.message).toContain(
      'innocent.txt has 2 hard links: another name for it may be outside the workspace, so file tools do not read it',
    );
    expect(refused.message).not.toContain('top secret');
  });

  test('a file with one name is read; once its outside link is gone it is read again', async () => {
    writeFileSync(join(workspace, 'mine.txt'), 'mine');
    const ws = new Workspace(workspace);
    expect((await ws.read('mine.txt', 1024)).toString()).toBe('mine');
    linkSync(join(outside, 'secret.txt'), join(workspace, 'copy.txt'));
    await expect(ws.read('copy.txt', 1024)).rejects.toThrow('has 2 hard links');
    rmSync(join(outside, 'secret.txt'));
    expect((await ws.read('copy.txt', 1024)).toString()).toBe('top secret');
  });
});
