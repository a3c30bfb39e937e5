import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionSettings, TemporalProfileError, temporalProfile } from '../../src/runtime/connection';
import { redactSecrets } from '../../src/shared/secrets';

const dir = mkdtempSync(join(tmpdir(), 'steward-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const toml = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
writeFileSync(join(dir, 'ca.pem'), 'CA');
writeFileSync(join(dir, 'client.pem'), 'CERT');
writeFileSync(join(dir, 'client.key'), 'KEY');

const cloud = toml(
  'cloud.toml',
  `[profile.default]
address = "steward.a1b2c.tmprl.cloud:7233"
namespace = "steward.a1b2c"
[profile.default.tls]
client_cert_path = "${join(dir, 'client.pem')}"
client_key_path = "${join(dir, 'client.key')}"

[profile.keyed]
address = "eu-west-1.aws.api.temporal.io:7233"
api_key = "tk-0123456789abcdef"
`,
);

describe('connection settings from a Temporal client profile (@temporalio/envconfig)', () => {
  test('the profile for the address: its client certificate', () => {
    const settings = connectionSettings('steward.a1b2c.tmprl.cloud:7233', { TEMPORAL_CONFIG_FILE: cloud });
    expect(settings.address).toBe('steward.a1b2c.tmprl.cloud:7233');
    expect(settings.tls).toMatchObject({
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });
    expect(temporalProfile({ TEMPORAL_CONFIG_FILE: cloud }).namespace).toBe('steward.a1b2c');
  });

  test('another address (a steward dev on this machine): plain text, the profile does not apply', () => {
    expect(connectionSettings('127.0.0.1:7233', { TEMPORAL_CONFIG_FILE: cloud })).toEqual({
      address: '127.0.0.1:7233',
    });
  });

  test('a named profile with an API key: TLS on, the key kept out of logs', () => {
    const settings = connectionSettings('eu-west-1.aws.api.temporal.io:7233', {
      TEMPORAL_CONFIG_FILE: cloud,
      TEMPORAL_PROFILE: 'keyed',
    });
    expect(settings).toMatchObject({ apiKey: 'tk-0123456789abcdef', tls: true });
    expect(redactSecrets('Authorization: Bearer tk-0123456789abcdef')).toBe(
      'Authorization: Bearer [redacted]',
    );
  });

  test('environment variables alone, over no file', () => {
    const settings = connectionSettings('10.0.0.5:7233', {
      TEMPORAL_CONFIG_FILE: join(dir, 'absent.toml'),
      TEMPORAL_ADDRESS: '10.0.0.5:7233',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_GRPC_META_X_TEAM: 'agents',
    });
    expect(settings.tls).toMatchObject({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from('CA'),
    });
    expect(settings.metadata).toEqual({ 'x-team': 'agents' });
  });

  test('no profile at all: the address alone', () => {
    expect(connectionSettings('127.0.0.1:7233', { TEMPORAL_CONFIG_FILE: join(dir, 'absent.toml') })).toEqual({
      address: '127.0.0.1:7233',
    });
  });

  test('a profile file that cannot be read is one clear error', () => {
    const broken = toml('broken.toml', '[profile.default\naddress = ');
    expect(() => connectionSettings('127.0.0.1:7233', { TEMPORAL_CONFIG_FILE: broken })).toThrow(
      TemporalProfileError,
    );
    expect(() =>
      connectionSettings('127.0.0.1:7233', { TEMPORAL_CONFIG_FILE: cloud, TEMPORAL_PROFILE: 'nope' }),
    ).toThrow(/the Temporal client profile cannot be read: Profile 'nope' not found/);
  });
});
