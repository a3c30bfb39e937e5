import { isBlobRef, type Price } from '../shared/types';
import type { TokenUsage } from '../shared/types';

/** Per-message framing tokens added by chat templates; generous so estimates stay upper bounds. */
const MESSAGE_OVERHEAD_TOKENS = 16;

export function costOfUsage(price: Price, usage: TokenUsage): number {
  return (usage.inputTokens * price.inputPerMTok + usage.outputTokens * price.outputPerMTok) / 1_000_000;
}

/**
 * An upper bound of a model call's input tokens: byte-level tokenizers never emit more tokens than
 * bytes, so UTF-8 bytes plus framing bound the count from above.
 */
export function maxInputTokens(inputBytes: number, messageCount: number): number {
  return inputBytes + messageCount * MESSAGE_OVERHEAD_TOKENS;
}

export interface Reservation {
  /** Output tokens the call may produce (the step's limit, lowered to what the budget affords). */
  maxOutputTokens: number;
  reservedUsd: number;
}

/**
 * Reserves the most a call can cost before it starts, so the cap holds even if the model talks
 * until its limit. Returns null when not even a one-token answer fits in what is left.
 */
export function reserveModelCall(
  price: Price,
  remainingUsd: number,
  inputTokensBound: number,
  stepMaxOutputTokens: number,
): Reservation | null {
  const inputCost = (inputTokensBound * price.inputPerMTok) / 1_000_000;
  if (price.outputPerMTok === 0) {
    return inputCost <= remainingUsd
      ? { maxOutputTokens: stepMaxOutputTokens, reservedUsd: inputCost }
      : null;
  }
  const cost = (tokens: number): number => inputCost + (tokens * price.outputPerMTok) / 1_000_000;
  let maxOutputTokens = Math.min(
    stepMaxOutputTokens,
    Math.floor(((remainingUsd - inputCost) * 1_000_000) / price.outputPerMTok),
  );
  // floating-point division can round up by a hair: step down until the worst case truly fits
  while (maxOutputTokens >= 1 && cost(maxOutputTokens) > remainingUsd) maxOutputTokens--;
  if (maxOutputTokens < 1) return null;
  return { maxOutputTokens, reservedUsd: cost(maxOutputTokens) };
}

/** Rounds to micro-dollars so sums in history stay exact and readable. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1_000_000) / 1_000_000;
}

/** Bytes the `finish` tool's schema adds to a prompt that offers it (measured: ~170; rounded up). */
export const FINISH_SCHEMA_BYTES = 512;

const encoder = new TextEncoder();

/** The text's length in UTF-8 bytes (a lone surrogate counts as U+FFFD, 3 bytes, as Buffer.byteLength does). */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/**
 * An upper bound of the bytes a model will see for this value once its blob references are
 * resolved: a reference counts the size of what it stands for, not its own few bytes.
 */
export function promptBytesBound(value: unknown): number {
  if (typeof value === 'string') return utf8Length(value) + 2;
  if (value === null || typeof value !== 'object') return String(value).length;
  if (isBlobRef(value)) return value.bytes;
  const parts = Array.isArray(value) ? value : Object.entries(value).flat();
  return parts.reduce((sum: number, part) => sum + promptBytesBound(part) + 1, 2);
}
