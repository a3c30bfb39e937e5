/**
 * A task's audit trail outside the workflow: exported as JSON Lines (entries, then the signed head),
 * optionally as CloudEvents, read back from such a file, and the keys a verification trusts.
 * docs/audit.md describes the format for whoever re-implements the verification.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AuditEntry } from '../audit/chain';
import { publicKeyFromPem, type SignedHead } from '../audit/head';
import type { AuditKey } from '../audit/verify';
import { keyFingerprint } from '../audit/signing';
import { StewardError } from '../errors';

export class TrailUnreadable extends StewardError {}

export interface Trail {
  taskId: string;
  entries: AuditEntry[];
  heads: SignedHead[];
}

const CLOUDEVENT_SOURCE = 'steward';

/** One line of an export: an entry or the head, bare or wrapped as a CloudEvent (structured mode). */
function exportLine(item: AuditEntry | SignedHead, taskId: string, cloudEvents: boolean): string {
  if (!cloudEvents) return JSON.stringify(item);
  const isHead = 'type' in item && item.type === 'head';
  return JSON.stringify({
    specversion: '1.0',
    id: isHead ? `${taskId}/head/${item.seq}` : `${taskId}/${item.seq}`,
    source: CLOUDEVENT_SOURCE,
    type: isHead ? 'dev.steward.audit.head' : `dev.steward.audit.${(item as AuditEntry).kind}`,
    subject: taskId,
    time: isHead ? (item as SignedHead).signedAt : (item as AuditEntry).at,
    datacontenttype: 'application/json',
    data: item,
  });
}

/** The export: every entry, then the last signed head (the one that covers the most). */
export function exportTrail(trail: Trail, options: { cloudEvents?: boolean } = {}): string {
  const head = lastHead(trail.heads);
  const items: (AuditEntry | SignedHead)[] = [...trail.entries, ...(head ? [head] : [])];
  return items.map((item) => `${exportLine(item, trail.taskId, !!options.cloudEvents)}\n`).join('');
}

export function lastHead(heads: SignedHead[]): SignedHead | undefined {
  return heads.reduce<SignedHead | undefined>(
    (best, h) => (!best || h.seq >= best.seq ? h : best),
    undefined,
  );
}

/** An export read back: lines that are heads (`"type":"head"`) and lines that are entries, in order. */
export function readTrailFile(path: string): Trail {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TrailUnreadable(`cannot read ${path}: ${(err as Error).message}`);
  }
  const entries: AuditEntry[] = [];
  const heads: SignedHead[] = [];
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch {
      throw new TrailUnreadable(`${path}:${index + 1} is not JSON`, {
        hint: 'an audit export has one JSON value per line: `steward audit export <taskId>` writes one',
      });
    }
    if (item && typeof item === 'object' && 'specversion' in item)
      item = (item as unknown as { data: unknown }).data;
    if (!item || typeof item !== 'object')
      throw new TrailUnreadable(`${path}:${index + 1} is neither an audit entry nor a signed head`);
    if ((item as { type?: unknown }).type === 'head') heads.push(item as SignedHead);
    else entries.push(item as AuditEntry);
  });
  const taskId = heads[0]?.taskId ?? entries.find((e) => e.taskId)?.taskId;
  if (!taskId)
    throw new TrailUnreadable(`${path} names no task: it has no signed head and no schema-1 entry`);
  return { taskId, entries, heads };
}

/** A key given on the command line: 64 hex digits, or a file holding them or an SPKI PEM. */
export function keyArgument(value: string): AuditKey {
  const text = existsSync(value) ? readFileSync(value, 'utf8').trim() : value.trim();
  const publicKey = /^[0-9a-f]{64}$/i.test(text) ? text.toLowerCase() : publicKeyFromPem(text);
  if (!publicKey)
    throw new TrailUnreadable(`--key ${value} is not an Ed25519 public key`, {
      hint: 'give its 64 hex digits (steward keys show) or a PEM file (the publicKeyPem of a signed head)',
    });
  return { id: `key-${keyFingerprint(publicKey)}`, publicKey };
}
