import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load';
import { blobStoreFor } from '../../src/runtime/localStack';
import { LocalDirectoryBackend } from '../../src/stores/blobStore';
import { PostgresBlobBackend } from '../../src/stores/postgresBlobStore';
import { redactSecrets } from '../../src/shared/secrets';

const URL_ENV = 'STEWARD_TEST_PG_URL';
afterEach(() => delete process.env[URL_ENV]);

describe('stores.blobs in the config', () => {
  // the config's own dataDir is under test: an environment override would hide it
  const saved = process.env.STEWARD_DATA_DIR;
  beforeEach(() => delete process.env.STEWARD_DATA_DIR);
  afterAll(() => {
    if (saved !== undefined) process.env.STEWARD_DATA_DIR = saved;
  });

  test('absent: the local directory in the data directory', () => {
    const config = parseConfig({ dataDir: '/tmp/steward-data' });
    expect(config.stores.blobs).toEqual({ kind: 'local' });
    const store = blobStoreFor(config);
    expect(store.backend).toBeInstanceOf(LocalDirectoryBackend);
    expect(store.dir).toBe(join('/tmp/steward-data', 'blobs'));
  });

  test('postgres: the URL comes from the named environment variable; the store names where, never the password', async () => {
    process.env[URL_ENV] = 'postgres://steward:s3cr%40t-pw@db.internal:5433/steward_blobs';
    const config = parseConfig({ stores: { blobs: { kind: 'postgres', urlEnv: URL_ENV } } });
    const store = blobStoreFor(config);
    try {
      expect(store.backend).toBeInstanceOf(PostgresBlobBackend);
      expect(store.backend.where).toBe('PostgreSQL db.internal:5433/steward_blobs (table steward_blobs)');
      expect(() => store.dir).toThrow(/not a local directory/);
      // the URL and the password alone are scrubbed from whatever the process logs
      expect(redactSecrets(`connecting to ${process.env[URL_ENV]} with s3cr@t-pw`)).toBe(
        'connecting to [redacted] with [redacted]',
      );
    } finally {
      await store.close();
    }
  });

  test('postgres with the variable unset: a config error naming the variable', () => {
    const config = parseConfig({ stores: { blobs: { kind: 'postgres', urlEnv: URL_ENV } } });
    expect(() => blobStoreFor(config)).toThrow(ConfigError);
    expect(() => blobStoreFor(config)).toThrow(
      `stores.blobs reads its PostgreSQL URL from ${URL_ENV}, which is not set`,
    );
  });

  test('a URL in the file is refused: only the name of a variable goes there', () => {
    expect(() =>
      parseConfig({ stores: { blobs: { kind: 'postgres', urlEnv: 'postgres://u:p@h/db' } } }),
    ).toThrow(/urlEnv: an environment variable name/);
    expect(() =>
      parseConfig({ stores: { blobs: { kind: 'postgres', url: 'postgres://u:p@h/db' } } }),
    ).toThrow(ConfigError);
    expect(() => parseConfig({ stores: { blobs: { kind: 's3' } } })).toThrow(ConfigError);
  });
});
