import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { EventType } = temporal.api.enums.v1;
const { HistoryEvent } = temporal.api.history.v1;

export interface EventTypeProfile {
  count: number;
  /** Bytes of the events as encoded protobuf (what the server writes and sends). */
  eventBytes: number;
  /** Bytes of the payloads they carry (data + metadata): inputs, results, search attributes, summaries. */
  payloadBytes: number;
}

export interface HistoryProfile {
  workflowId: string;
  events: number;
  eventBytes: number;
  payloadBytes: number;
  byType: Record<string, EventTypeProfile>;
}

function isPayload(value: unknown): value is { data?: Uint8Array; metadata?: Record<string, Uint8Array> } {
  return (
    !!value &&
    typeof value === 'object' &&
    'metadata' in value &&
    'data' in value &&
    (value as { data: unknown }).data instanceof Uint8Array
  );
}

/** Bytes of every payload inside `value` (data plus metadata keys and values). */
function payloadBytes(value: unknown): number {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  if (isPayload(value)) {
    let bytes = value.data?.length ?? 0;
    for (const [key, v] of Object.entries(value.metadata ?? {})) bytes += key.length + (v?.length ?? 0);
    return bytes;
  }
  let total = 0;
  for (const v of Object.values(value)) total += payloadBytes(v);
  return total;
}

function typeName(eventType: number | null | undefined): string {
  const name = EventType[eventType ?? 0] ?? `EVENT_TYPE_${eventType}`;
  return name.replace(/^EVENT_TYPE_/, '');
}

/** Events by type, with their encoded size and the payload bytes they carry. */
export async function profileHistory(client: Client, workflowId: string): Promise<HistoryProfile> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const profile: HistoryProfile = { workflowId, events: 0, eventBytes: 0, payloadBytes: 0, byType: {} };
  for (const event of history.events ?? []) {
    const name = typeName(event.eventType as number);
    const entry = (profile.byType[name] ??= { count: 0, eventBytes: 0, payloadBytes: 0 });
    const encoded = HistoryEvent.encode(event).finish().length;
    const payload = payloadBytes(event);
    entry.count++;
    entry.eventBytes += encoded;
    entry.payloadBytes += payload;
    profile.events++;
    profile.eventBytes += encoded;
    profile.payloadBytes += payload;
  }
  return profile;
}

/** Where the payload bytes of one event type go, by the attribute that carries them. */
export async function payloadsOf(
  client: Client,
  workflowId: string,
  type: string,
): Promise<Array<{ field: string; bytes: number }>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const out = new Map<string, number>();
  const walk = (value: unknown, path: string): void => {
    if (!value || typeof value !== 'object' || value instanceof Uint8Array) return;
    if (isPayload(value)) {
      out.set(path, (out.get(path) ?? 0) + payloadBytes(value));
      return;
    }
    for (const [k, v] of Object.entries(value)) walk(v, /^\d+$/.test(k) ? path : `${path}.${k}`);
  };
  for (const event of history.events ?? []) {
    if (typeName(event.eventType as number) !== type) continue;
    for (const [k, v] of Object.entries(event))
      if (k.endsWith('Attributes') || k === 'userMetadata') walk(v, k);
  }
  return [...out.entries()].map(([field, bytes]) => ({ field, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** The histories of W1, W3 and W5's last tasks on each side, and the payloads of Steward's, by event type. */
export async function profileResults(client: Client, results: Record<string, unknown>) {
  const out: Record<string, { steward?: HistoryProfile; bare?: HistoryProfile; stewardPayloads?: unknown }> =
    {};
  const ids = (w: string) => {
    const r = results[w] as { steward?: { historyOf?: string }; bare?: { historyOf?: string } } | undefined;
    return { steward: r?.steward?.historyOf, bare: r?.bare?.historyOf };
  };
  for (const w of ['W1', 'W3', 'W5']) {
    const { steward, bare } = ids(w);
    if (!steward || !bare) continue;
    const s = await profileHistory(client, steward);
    const payloads: Record<string, unknown> = {};
    for (const [type, entry] of Object.entries(s.byType)) {
      if (entry.payloadBytes > 0) payloads[type] = await payloadsOf(client, steward, type);
    }
    out[w] = { steward: s, bare: await profileHistory(client, bare), stewardPayloads: payloads };
  }
  return out;
}
