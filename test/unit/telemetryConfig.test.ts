import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load';
import { startTelemetry, tracesUrlOf } from '../../src/runtime/telemetry';

/** The telemetry section (README: Traces): off by default, checked like the rest, env overrides. */
const ENV = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME', 'OTEL_SDK_DISABLED'] as const;
const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
beforeEach(() => ENV.forEach((name) => delete process.env[name]));
afterAll(() =>
  ENV.forEach((name) => {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }),
);

describe('telemetry config', () => {
  test('is off by default: no endpoint, no content, and starting it gives nothing', async () => {
    const { telemetry } = parseConfig({});
    expect(telemetry).toEqual({ includeContent: false, serviceName: 'steward' });
    await expect(startTelemetry(telemetry)).resolves.toBeUndefined();
  });

  test('takes an OTLP/HTTP endpoint, includeContent and a service name', () => {
    const { telemetry } = parseConfig({
      telemetry: { otlpEndpoint: 'http://127.0.0.1:4318', includeContent: true, serviceName: 'agents' },
    });
    expect(telemetry).toEqual({
      otlpEndpoint: 'http://127.0.0.1:4318',
      includeContent: true,
      serviceName: 'agents',
    });
  });

  test.each([
    ['a gRPC URL', 'grpc://collector:4317', 'expected an http\\(s\\) URL'],
    ['text', 'not a url', 'expected an http\\(s\\) URL'],
    ['credentials', 'https://user:pass@collector:4318', 'must not carry credentials'],
    ['a query', 'http://collector:4318/?token=x', 'must not have a query'],
    ['3,000 characters', `http://collector:4318/${'a'.repeat(3000)}`, 'at most 2048 characters'],
  ])('refuses an endpoint with %s, naming the field', (_what, otlpEndpoint, why) => {
    const parse = () => parseConfig({ telemetry: { otlpEndpoint } }, 'steward.yaml');
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(new RegExp(`telemetry\\.otlpEndpoint: .*${why}`));
  });

  test('refuses unknown fields and a non-boolean includeContent, naming them', () => {
    expect(() => parseConfig({ telemetry: { endpoint: 'http://x:4318' } })).toThrow(/telemetry: .*endpoint/);
    expect(() => parseConfig({ telemetry: { includeContent: 'yes' } })).toThrow(/telemetry\.includeContent/);
    expect(() => parseConfig({ telemetry: { serviceName: '' } })).toThrow(/telemetry\.serviceName/);
  });

  test('OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME override the file; a bad variable is named', () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://collector:4318';
    process.env.OTEL_SERVICE_NAME = 'from-env';
    expect(parseConfig({ telemetry: { otlpEndpoint: 'http://127.0.0.1:4318' } }).telemetry).toMatchObject({
      otlpEndpoint: 'http://collector:4318',
      serviceName: 'from-env',
    });
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'collector:4317';
    expect(() => parseConfig({}, 'steward.yaml')).toThrow(
      /telemetry\.otlpEndpoint \(from OTEL_EXPORTER_OTLP_ENDPOINT\): expected an http\(s\) URL/,
    );
  });

  test('OTEL_SDK_DISABLED=true turns traces off whatever the file says', () => {
    process.env.OTEL_SDK_DISABLED = 'true';
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://collector:4318';
    const { telemetry } = parseConfig({ telemetry: { otlpEndpoint: 'http://127.0.0.1:4318' } });
    expect(telemetry.otlpEndpoint).toBeUndefined();
  });

  test('off costs nothing: a process that runs the worker code with traces off loads no OpenTelemetry module', () => {
    const src = resolve(__dirname, '../../src');
    const scratch = mkdtempSync(join(tmpdir(), 'steward-off-'));
    const script = join(scratch, 'off.ts');
    writeFileSync(
      script,
      `import { createActivities } from ${JSON.stringify(`${src}/activities`)};
       import { runWorkers } from ${JSON.stringify(`${src}/runtime/localStack`)};
       import { StewardClient } from ${JSON.stringify(`${src}/runtime/client`)};
       import { startTelemetry } from ${JSON.stringify(`${src}/runtime/telemetry`)};
       import { parseConfig } from ${JSON.stringify(`${src}/config/load`)};
       void [createActivities, runWorkers, StewardClient];
       void startTelemetry(parseConfig({}).telemetry).then((telemetry) => {
         const loaded = Object.keys(require.cache).filter((m) => /opentelemetry/.test(m));
         console.log(JSON.stringify({ telemetry: telemetry ?? null, loaded }));
       });`,
    );
    const env = { ...process.env };
    for (const name of ENV) delete env[name];
    const tsx = resolve(__dirname, '../../node_modules/.bin/tsx');
    let out: string;
    try {
      out = execFileSync(tsx, [script], { env, encoding: 'utf8', timeout: 60_000 });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ telemetry: null, loaded: [] });
  });

  test('spans go to /v1/traces under a base URL; a full traces URL is kept', () => {
    expect(tracesUrlOf('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesUrlOf('http://127.0.0.1:4318/')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesUrlOf('https://otel.example/ingest')).toBe('https://otel.example/ingest/v1/traces');
    expect(tracesUrlOf('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces');
  });
});
