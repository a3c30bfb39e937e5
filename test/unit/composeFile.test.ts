import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { COMMANDS } from '../../src/cli/commands';
import { parseConfig } from '../../src/config/load';
import { tunedDynamicConfig } from '../../src/runtime/cluster/temporalServer';
import { STEWARD_SEARCH_ATTRIBUTES } from '../../src/workflows/searchAttributes';

/**
 * docker-compose.yml cannot be run here (no container engine): it is checked statically against the
 * Compose Specification's JSON schema, as shipped by the dclint package (compose-spec's
 * schema/compose-spec.json; dclint is MIT), and against Steward itself: every Steward service runs a
 * real `steward` command that the CLI's own parser accepts, with a config Steward accepts.
 */
const ROOT = resolve(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}
// merge: the services take the shared Steward settings through a YAML merge key, as compose reads them
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const stewardServices = services.filter(([, s]) => s.image?.startsWith('steward:'));

/**
 * The schema (draft-07), compiled. Its `$schema` names draft-07 by an https URL that Ajv does not know
 * (it knows http://json-schema.org/draft-07/schema#, its default), so that key is left out.
 */
function composeSchema() {
  const file = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const { $schema: draft, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as {
    $schema: string;
    title: string;
  };
  expect(draft).toMatch(/draft-07/);
  expect(schema.title).toBe('Compose Specification');
  return new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
}

test('the compose file is valid against the Compose Specification schema', () => {
  const validate = composeSchema();
  const valid = validate(compose);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
});

test('and a broken one is not (the schema is really applied)', () => {
  const validate = composeSchema();
  expect(
    validate({ services: { x: { image: 'a:1', restart: 'sometimes', healthcheck: { test: 42 } } } }),
  ).toBe(false);
  expect(
    validate({ services: { x: { image: 'a:1', depends_on: { y: { condition: 'service_happy' } } } } }),
  ).toBe(false);
  expect(validate({ services: { x: { image: 'a:1', comand: ['worker'] } } })).toBe(false);
});
test('every Steward service runs a real steward command, which the CLI parses', () => {
  expect(stewardServices.map(([name]) => name).sort()).toEqual([
    'steward-node-private',
    'steward-node-public',
    'steward-worker',
  ]);
  for (const [name, service] of stewardServices) {
    const argv = service.command as string[];
    expect(Array.isArray(argv)).toBe(true);
    const command = COMMANDS.find((c) => c.name === argv[0]);
    if (!command) throw new Error(`${name} runs "steward ${argv[0]}", which is not a steward command`);
    expect(() => command.parse(argv.slice(1))).not.toThrow();
    // and its health check is one too
    const check = service.healthcheck!.test;
    expect(check.slice(0, 3)).toEqual(['CMD', 'node', '/app/bin/steward.js']);
    expect(COMMANDS.map((c) => c.name)).toContain(check[3]);
  }
});

test('the Steward config the services mount is one Steward accepts, and names their nodes with two trust tiers', () => {
  const file = 'deploy/steward/steward.yaml';
  for (const [, service] of stewardServices) {
    expect(service.volumes).toContain(`./${file}:/etc/steward/steward.yaml:ro`);
    expect(service.environment?.STEWARD_CONFIG).toBe('/etc/steward/steward.yaml');
  }
  const config = parseConfig(parse(read(file)), file, '/');
  expect(config.stores.blobs).toEqual({ kind: 'postgres', urlEnv: 'STEWARD_PG_URL' });
  const nodeIds = stewardServices
    .map(([, s]) => s.command as string[])
    .filter((argv) => argv[0] === 'node')
    .map((argv) => argv[argv.indexOf('--id') + 1]);
  expect(nodeIds.sort()).toEqual(config.computeNodes.map((n) => n.id).sort());
  expect(new Set(config.computeNodes.map((n) => n.trust)).size).toBe(2);
  // every Steward process gets the claim-check URL and the server from its environment
  for (const [, service] of stewardServices) {
    expect(service.environment?.STEWARD_PG_URL).toMatch(
      /^postgres:\/\/temporal:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgresql:5432\/steward_blobs$/,
    );
    expect(service.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  }
});

test('the Temporal server gets the tuned dynamic config of DESIGN.md §5', () => {
  const dynamic = parse(read('deploy/temporal/dynamicconfig.yaml')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(tunedDynamicConfig())) expect(dynamic[key]).toEqual(value);
  const temporal = compose.services.temporal!;
  expect(temporal.volumes).toContain(
    './deploy/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/steward.yaml:ro',
  );
  expect(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH).toBe('config/dynamicconfig/steward.yaml');
});

test("the setup registers Steward's search attributes with their types, and creates the claim-check database", () => {
  const setup = (compose.services['temporal-setup']!.command as string[]).join('\n');
  for (const [name, type] of Object.entries(STEWARD_SEARCH_ATTRIBUTES))
    expect(setup).toContain(`${name}=${type}`);
  expect(setup.match(/Steward\w+=/g)).toHaveLength(Object.keys(STEWARD_SEARCH_ATTRIBUTES).length);
  expect((compose.services['temporal-schema']!.command as string[]).join('\n')).toContain('steward_blobs');
});

test('images are pinned by version, long-running services have health checks, state lives in volumes', () => {
  for (const [name, service] of services) {
    const tag = service.image?.split(':').slice(1).join(':') ?? '';
    expect([name, tag]).toEqual([name, expect.stringMatching(/\d+\.\d+/)]);
    expect(tag).not.toMatch(/latest/);
    if (service.restart !== 'no')
      expect([name, service.healthcheck?.test]).toEqual([name, expect.any(Array)]);
  }
  expect(compose.services.postgresql!.volumes).toContain('postgres-data:/var/lib/postgresql/data');
  for (const [, service] of stewardServices) {
    expect(service.volumes!.some((v) => v.endsWith(':/data/steward'))).toBe(true);
    expect(service.depends_on?.['temporal-setup']?.condition).toBe('service_completed_successfully');
  }
  expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['postgres-data', 'workspace']));
});
