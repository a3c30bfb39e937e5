import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keyFingerprint, publicKeyOf } from '../audit/signing';

/** This install's Ed25519 key: it signs the decisions made at its terminal (and, later, audit heads). */
export interface InstallKey {
  keyId: string;
  publicKey: string;
  privateKey: Uint8Array;
}

export function installKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'install-ed25519.json');
}

export function loadInstallKey(dataDir: string): InstallKey | undefined {
  const file = installKeyPath(dataDir);
  if (!existsSync(file)) return undefined;
  const { privateKey } = JSON.parse(readFileSync(file, 'utf8')) as { privateKey: string };
  const key = hexToBytes(privateKey);
  const publicKey = publicKeyOf(key);
  return { keyId: `install-${keyFingerprint(publicKey)}`, publicKey, privateKey: key };
}

/** The install's key, made on first use; only its owner may read the file. */
export function ensureInstallKey(dataDir: string): InstallKey {
  const existing = loadInstallKey(dataDir);
  if (existing) return existing;
  const file = installKeyPath(dataDir);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const privateKey = ed25519.utils.randomPrivateKey();
  try {
    writeFileSync(file, JSON.stringify({ privateKey: bytesToHex(privateKey) }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // another steward process made it first: use theirs
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return loadInstallKey(dataDir)!;
}
