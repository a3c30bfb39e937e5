/**
 * Loading node-llama-cpp, once per process: the module, and one `Llama` (the native backend) shared by
 * every model.
 *
 * node-llama-cpp is an ES module with top-level await, which `require` cannot load; it is imported with a
 * real dynamic `import()` (kept out of reach of the TypeScript/SWC CommonJS transform, and run with the main
 * context's loader so it also works inside jest's VM contexts).
 */
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

export type LlamaModule = typeof import('node-llama-cpp');
export type Llama = import('node-llama-cpp').Llama;

let llamaModule: Promise<LlamaModule> | undefined;
let llamaInstance: Promise<Llama> | undefined;

/** Loads node-llama-cpp (an ES module with top-level await) with a real dynamic import. */
export function importLlamaModule(): Promise<LlamaModule> {
  if (!llamaModule) {
    const url = pathToFileURL(require.resolve('node-llama-cpp')).href;
    const loading = dynamicImport<LlamaModule>(url);
    llamaModule = loading;
    loading.catch(() => {
      if (llamaModule === loading) llamaModule = undefined;
    });
  }
  return llamaModule;
}

/** The process's one `Llama`: CPU only, prebuilt binary only (never downloads or compiles at run time). */
export function getLlamaInstance(mod: LlamaModule): Promise<Llama> {
  if (!llamaInstance) {
    const loading = mod.getLlama({
      gpu: false,
      build: 'never',
      logLevel: mod.LlamaLogLevel.error,
      progressLogs: false,
    });
    llamaInstance = loading;
    loading.catch(() => {
      if (llamaInstance === loading) llamaInstance = undefined;
    });
  }
  return llamaInstance;
}

/** Disposes the `Llama`, if one was made (when the last model is gone); the next load makes a new one. */
export async function disposeLlamaInstance(): Promise<void> {
  const llama = llamaInstance;
  llamaInstance = undefined;
  if (llama) await (await llama).dispose();
}

/**
 * `import()` out of reach of the CommonJS transform of tsc/SWC. In a plain Node context a Function does it; inside
 * a VM context without a module loader (jest's), a Script compiled with the main context's loader does.
 */
export async function dynamicImport<T>(specifier: string): Promise<T> {
  const viaFunction = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<T>;
  try {
    return await viaFunction(specifier);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (
      code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING' &&
      code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG'
    ) {
      throw err;
    }
  }
  const viaScript = new vm.Script('(specifier) => import(specifier)', {
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }).runInThisContext() as (s: string) => Promise<T>;
  return viaScript(specifier);
}
