/**
 * Moved: fetching and verifying the model's weights lives in `src/weights/` (weights are not a provider).
 * This re-export stays only while `src/cli/format.ts` and `test/integration/notesDigest.test.ts` import
 * from here; delete it once they import from `../weights`.
 */
export { ensureModel, type ModelFetchProgress } from '../weights';
