import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CHECKED_NODE_LLAMA_CPP_VERSION,
  GBNF_GENERATOR_FILE,
  importGbnfGenerator,
} from '../../src/providers/embedded/gbnfGenerator';
import { buildActionSchema } from '../../src/providers/embedded/grammar';

/**
 * The embedded provider reaches one private file of node-llama-cpp (src/providers/embedded/gbnfGenerator.ts).
 * At run time a missing file only degrades quietly to multi-line JSON grammars; this test makes an upgrade loud.
 */
const UPGRADE_HINT =
  `src/providers/embedded/gbnfGenerator.ts imports node-llama-cpp's private dist/${GBNF_GENERATOR_FILE}. ` +
  `On an upgrade, check that file still exports getGbnfGrammarForGbnfJsonSchema(schema, { allowNewLines }), ` +
  `or that a public export now takes allowNewLines; then update CHECKED_NODE_LLAMA_CPP_VERSION there.`;

describe("node-llama-cpp's private GBNF generator", () => {
  it('is the version whose private file was checked', () => {
    const packageJson = path.join(path.dirname(require.resolve('node-llama-cpp')), '..', 'package.json');
    const installed = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
    const pinned = (
      JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      }
    ).dependencies['node-llama-cpp'];
    if (installed !== CHECKED_NODE_LLAMA_CPP_VERSION || pinned !== CHECKED_NODE_LLAMA_CPP_VERSION) {
      throw new Error(
        `node-llama-cpp is ${installed} (package.json pins ${pinned}), checked was ${CHECKED_NODE_LLAMA_CPP_VERSION}. ` +
          UPGRADE_HINT,
      );
    }
  });

  it('still exports the generator, and allowNewLines: false keeps the JSON on one line', async () => {
    const generate = await importGbnfGenerator();
    if (!generate) throw new Error(`the private generator could not be loaded. ${UPGRADE_HINT}`);
    const schema = buildActionSchema([
      {
        name: 'write',
        description: 'w',
        parameters: {
          type: 'object',
          properties: { path: { type: 'string' }, lines: { type: 'array', items: { type: 'string' } } },
          required: ['path', 'lines'],
        },
      },
    ]) as unknown as Parameters<typeof generate>[0];
    const terminator = `"${'\\n'.repeat(4)}" [\\n]*`; // the stop trigger every grammar ends with
    const oneLine = generate(schema, { allowNewLines: false });
    const pretty = generate(schema, { allowNewLines: true });
    const newlines = (grammar: string) => grammar.replace(terminator, '').includes('[\\n]');
    expect({ oneLine: newlines(oneLine), pretty: newlines(pretty), hint: UPGRADE_HINT }).toEqual({
      oneLine: false,
      pretty: true,
      hint: UPGRADE_HINT,
    });
  });
});
