import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { configSchema, type StewardConfig, type StewardConfigInput } from './schema';
import { loadConfigAgents } from './agents';
import { ConfigError, describeIssues } from './errors';
import { readPolicyFile } from './policyFile';
import { otlpEndpointProblem } from './telemetrySchema';

// where callers have always imported them from (the package's API re-exports ConfigError from here)
export { ConfigError, describeIssues } from './errors';

export function currentUser(): string {
  return process.env.STEWARD_USER || process.env.USER || userInfo().username || 'local-user';
}

export interface LoadedConfig extends StewardConfig {
  /** The file it came from, if any; relative paths in it are relative to its directory. */
  source?: string;
}

/** Parses a config object; defaults fill what is left out, env vars override connection settings. */
export function parseConfig(
  input: StewardConfigInput | unknown,
  source = 'config',
  baseDir = process.cwd(),
): LoadedConfig {
  const parsed = configSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, source));
  const config: LoadedConfig = parsed.data;
  config.temporal.address = process.env.TEMPORAL_ADDRESS || config.temporal.address;
  config.temporal.namespace = process.env.TEMPORAL_NAMESPACE || config.temporal.namespace;
  config.dataDir = resolve(baseDir, process.env.STEWARD_DATA_DIR || config.dataDir);
  applyTelemetryEnv(config, source);
  config.tools.workspace = resolve(baseDir, config.tools.workspace);
  // Tools may write anywhere in the workspace: Steward's own data (blobs, models) must be out of reach.
  const inside = relative(config.tools.workspace, config.dataDir);
  if (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside)) {
    throw new ConfigError(
      `${source} is invalid:\n  tools.workspace: ${config.tools.workspace} contains the data directory ${config.dataDir}; give the workspace a directory of its own`,
    );
  }
  config.policy.approval.approvers ??= [currentUser()];
  if (config.policy.file) {
    config.policy.file = resolve(baseDir, config.policy.file);
    readPolicyFile(config.policy.file); // checked at start-up; a worker reads it again for each task
  }
  if (config.models.length === 0) {
    config.models.push({
      id: 'embedded',
      provider: 'embedded',
      model: 'SmolLM2-135M-Instruct',
      trust: 'local',
      price: { inputPerMTok: 0, outputPerMTok: 0 },
      parametersB: 0.135,
    });
  }
  for (const route of config.models) {
    if (route.provider !== 'embedded' && !config.providers[route.provider]) {
      throw new ConfigError(
        `${source} is invalid:\n  models: route ${route.id} names provider ${route.provider}, which is not under providers`,
      );
    }
  }
  // Agents of the config and of its agent files, checked now: a bad one stops the start, named.
  const declared = loadConfigAgents(config, source, baseDir);
  if (declared.problems.length > 0) throw new ConfigError(declared.problems.join('\n'));
  config.agents = declared.agents;
  config.agentFiles = [];
  for (const server of Object.values(config.mcpServers))
    if (server.cwd) server.cwd = resolve(baseDir, server.cwd);
  loaded.add(config);
  return config;
}

/**
 * The standard OpenTelemetry variables override the telemetry section: `OTEL_EXPORTER_OTLP_ENDPOINT`
 * (checked like the file's field, and named when it is bad), `OTEL_SERVICE_NAME`, and
 * `OTEL_SDK_DISABLED=true`, which turns traces off whatever the file says.
 */
function applyTelemetryEnv(config: LoadedConfig, source: string): void {
  const telemetry = config.telemetry;
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (endpoint) {
    const problem = otlpEndpointProblem(endpoint);
    if (problem)
      throw new ConfigError(
        `${source} is invalid:\n  telemetry.otlpEndpoint (from OTEL_EXPORTER_OTLP_ENDPOINT): ${problem}`,
      );
    telemetry.otlpEndpoint = endpoint;
  }
  const serviceName = process.env.OTEL_SERVICE_NAME?.trim();
  if (serviceName) telemetry.serviceName = serviceName.slice(0, 200);
  if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') delete telemetry.otlpEndpoint;
}

const loaded = new WeakSet<object>();

/** True for what parseConfig or loadConfig returned: used as it is, never parsed again. */
export function isLoadedConfig(value: unknown): value is LoadedConfig {
  return typeof value === 'object' && value !== null && loaded.has(value);
}

/** Loads `STEWARD_CONFIG`, else `./steward.yaml` if it exists, else the defaults. */
export function loadConfig(path = process.env.STEWARD_CONFIG): LoadedConfig {
  const file = path ? resolve(path) : resolve('steward.yaml');
  if (!existsSync(file)) {
    if (path) throw new ConfigError(`config file ${file} does not exist`);
    return parseConfig({}, 'defaults');
  }
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  const config: LoadedConfig = { ...parseConfig(raw, file, dirname(file)), source: file };
  loaded.add(config);
  return config;
}
