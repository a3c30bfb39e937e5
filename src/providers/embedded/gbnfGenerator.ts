/**
 * The one place this provider reaches into node-llama-cpp's private files.
 *
 * node-llama-cpp's public `createGrammarForJsonSchema` always lets the JSON span lines, and SmolLM2 then
 * pretty-prints, spending about twice the tokens on indentation. Its internal generator takes
 * `allowNewLines: false`; no public export does. So it is reached by file path, and
 * test/unit/nodeLlamaCppPrivate.test.ts pins the exact version and checks this file still exports it with
 * that option: an upgrade fails that test, loudly, instead of silently falling back to the public
 * (multi-line) grammar, which is what happens at run time if the file moves.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dynamicImport } from './llama';

/** The node-llama-cpp version whose private file below was checked (package.json pins it exactly). */
export const CHECKED_NODE_LLAMA_CPP_VERSION = '3.21.1';
/** The private file, relative to node-llama-cpp's `dist/` (its main entry's directory). */
export const GBNF_GENERATOR_FILE = 'utils/gbnfJson/getGbnfGrammarForGbnfJsonSchema.js';

type GbnfJsonSchema = import('node-llama-cpp').GbnfJsonSchema;
export type GbnfGenerator = (
  schema: GbnfJsonSchema,
  options: { allowNewLines?: boolean; scopePadSpaces?: number },
) => string;

let gbnfGenerator: Promise<GbnfGenerator | undefined> | undefined;

/** node-llama-cpp's JSON-schema-to-GBNF generator, or undefined when this version no longer has it there. */
export function importGbnfGenerator(): Promise<GbnfGenerator | undefined> {
  if (!gbnfGenerator) {
    const file = path.join(path.dirname(require.resolve('node-llama-cpp')), GBNF_GENERATOR_FILE);
    gbnfGenerator = dynamicImport<{ getGbnfGrammarForGbnfJsonSchema?: GbnfGenerator }>(
      pathToFileURL(file).href,
    ).then(
      (m) =>
        typeof m.getGbnfGrammarForGbnfJsonSchema === 'function'
          ? m.getGbnfGrammarForGbnfJsonSchema
          : undefined,
      () => undefined,
    );
  }
  return gbnfGenerator;
}
