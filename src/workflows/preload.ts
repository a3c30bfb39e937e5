import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';

/**
 * Not a workflow: the module the workflow bundle preloads (`preloadModules`, see
 * `bundleStewardWorkflows` in runtime/worker.ts). The SDK's reusable V8 context shares a module loaded
 * before the first workflow between all workflows of the thread; any other is instantiated again in
 * every workflow and at every replay. The libraries imported here (imported as src/audit imports them,
 * so they resolve to the same modules) are the workflow code's only ones besides the SDK's.
 *
 * Shared modules are deep-frozen once loaded, so what they set up lazily must happen here, first:
 * noble-curves builds its base-point tables on the first verify, ~50 ms that each workflow paid again
 * for its first decision (bench W3, W4's drain).
 */
const key = new Uint8Array(32).fill(1);
const message = sha256(new TextEncoder().encode('steward preload'));
ed25519.verify(ed25519.sign(message, key), message, ed25519.getPublicKey(key));
hexToBytes(bytesToHex(message));
