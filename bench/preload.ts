import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { z } from 'zod';

/**
 * Experiment: `npm run bench -- --stewardPreload=<absolute path of this file>` bundles Steward's
 * workflow code with this module preloaded, so the reusable V8 context loads these libraries once
 * per workflow thread and shares them between workflows instead of instantiating them in each one.
 * Imported here the way src/ imports them (ESM), so webpack resolves the same module ids.
 *
 * Shared modules are deep-frozen: what they set up lazily must happen here, first. Zod configures
 * its default locale and memoizer on first use (once frozen, that throws "object is not
 * extensible"); noble-curves builds its base-point tables on the first verify (~50 ms, which every
 * workflow would otherwise pay again).
 */
z.object({ s: z.string().trim().min(1).max(2), n: z.number().int().nullish(), e: z.enum(['a']) })
  .strict()
  .safeParse({ s: '', n: 1.5, e: 'b', x: 1 });
z.record(z.string(), z.union([z.string(), z.array(z.unknown())])).safeParse({ a: 1 });
z.literal('x').optional().safeParse(2);

const key = new Uint8Array(32).fill(1);
const message = sha256(new TextEncoder().encode('preload'));
ed25519.verify(ed25519.sign(message, key), message, ed25519.getPublicKey(key));
bytesToHex(message);
