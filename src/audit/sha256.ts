import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

const encoder = new TextEncoder();

/**
 * SHA-256 of the text's UTF-8 bytes, in lowercase hex. Workflow code cannot use node:crypto, so this
 * uses @noble/hashes (audited, plain JavaScript); TextEncoder writes a lone surrogate as U+FFFD, as
 * Buffer.from does. Unit tests check it against node:crypto.
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(encoder.encode(text)));
}
