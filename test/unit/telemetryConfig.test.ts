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
    ['grpc://collector:4317', 'expected an http\\(s\\) URL'],
    ['not a url', 'expected an http\\(s\\) URL'],
    ['https://user:pass@collector:4318', 'must not carry credentials'],
    ['http://collector:4318/?token=x', 'must not have a query'],
    [`http://collector:4318/${'a'.repeat(3000)}`, 'at most 2048 characters'],
  ])('refuses the endpoint %s, naming the field', (otlpEndpoint, why) => {
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

  test('spans go to /v1/traces under a base URL; a full traces URL is kept', () => {
    expect(tracesUrlOf('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesUrlOf('http://127.0.0.1:4318/')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesUrlOf('https://otel.example/ingest')).toBe('https://otel.example/ingest/v1/traces');
    expect(tracesUrlOf('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces');
  });
});
