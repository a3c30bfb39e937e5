import type { LoadedConfig } from '../config/load';
import { StewardError } from '../errors';
import { registerSecret } from '../shared/secrets';
import { OpenAICompatibleProvider } from './openaiCompatible';
import type { ModelProvider } from './types';
import { ensureModel, type ModelFetchProgress } from '../weights';

/** A configured provider that cannot be set up as configured (its key variable unset…). */
export class ProviderSetupError extends StewardError {}

export interface ProviderSetup {
  /** Reports fetching the embedded model's weights (first use only). */
  onModelProgress?: (progress: ModelFetchProgress) => void;
}

/**
 * The providers the configured model routes name. The embedded model needs no key and no network:
 * its pinned weights are fetched once into the data directory (or config points at another GGUF).
 */
export async function createProviders(
  config: LoadedConfig,
  setup: ProviderSetup = {},
): Promise<Map<string, ModelProvider>> {
  const providers = new Map<string, ModelProvider>();
  const used = new Set(config.models.map((m) => m.provider));
  for (const name of used) {
    const settings =
      config.providers[name] ?? (name === 'embedded' ? { kind: 'embedded' as const } : undefined);
    if (!settings) {
      throw new ProviderSetupError(`model provider ${name} is not configured under providers`, {
        hint: `add providers.${name} to ${config.source ?? 'steward.yaml'}, or route the models to another provider`,
      });
    }
    if (settings.kind === 'openai-compatible') {
      const apiKey = settings.apiKeyEnv ? process.env[settings.apiKeyEnv] : undefined;
      if (settings.apiKeyEnv && !apiKey) {
        throw new ProviderSetupError(
          `provider ${name} reads its API key from the environment variable ${settings.apiKeyEnv}, which is not set`,
          {
            hint:
              `set ${settings.apiKeyEnv} where the worker runs (export ${settings.apiKeyEnv}=…), or remove ` +
              `apiKeyEnv from providers.${name} in ${config.source ?? 'the config'} if the endpoint needs no key`,
          },
        );
      }
      registerSecret(apiKey); // the process logger scrubs the key wherever it turns up
      const { baseURL, timeoutMs, toolChoice, maxTokensField } = settings;
      providers.set(
        name,
        new OpenAICompatibleProvider({ name, baseURL, apiKey, timeoutMs, toolChoice, maxTokensField }),
      );
    } else {
      const modelPath =
        settings.modelPath ??
        (await ensureModel({ dataDir: config.dataDir, onProgress: setup.onModelProgress }));
      // Loaded lazily: importing node-llama-cpp costs nothing until the first generation.
      const { EmbeddedModelProvider } = await import('./embedded');
      providers.set(
        name,
        new EmbeddedModelProvider({
          modelPath,
          threads: settings.threads,
          contextSize: settings.contextSize,
        }),
      );
    }
  }
  return providers;
}
