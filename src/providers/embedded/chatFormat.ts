/**
 * Chat formatting: the request's messages as node-llama-cpp chat history (tool calls and results written as
 * text a small model can follow), the tool list for the prompt, and reading the constrained action back.
 */
import { randomUUID } from 'node:crypto';
import type { ChatHistoryItem } from 'node-llama-cpp';
import type { ChatMessage, ToolSpec } from '../types';
import { isRecord } from './grammarSchema';

/** The instruction that tells the model how to answer in mode `action`, with each tool's input rendered briefly. */
export function describeTools(tools: ToolSpec[]): string {
  const lines = tools.map((t) => {
    const description = t.description ? ` ${t.description.trim()}` : '';
    return `- ${t.name}:${description} Input: ${describeSchema(t.parameters)}`;
  });
  return [
    'Answer with exactly one tool call, as JSON: {"tool": "<tool name>", "input": {<the tool\'s input>}}.',
    'Tools:',
    ...lines,
  ].join('\n');
}

/** Turns the request's messages into node-llama-cpp chat history, ending with the model's (empty) turn. */
export function toChatHistory(messages: ChatMessage[], tools: ToolSpec[]): ChatHistoryItem[] {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content.trim())
    .filter(Boolean);
  if (tools.length > 0) system.push(describeTools(tools));
  const history: ChatHistoryItem[] = [];
  if (system.length > 0) history.push({ type: 'system', text: system.join('\n\n') });

  const callNames = new Map<string, string>();
  const pushUser = (text: string) => {
    const last = history[history.length - 1];
    if (last?.type === 'user') last.text = `${last.text}\n\n${text}`;
    else history.push({ type: 'user', text });
  };
  for (const message of messages) {
    if (message.role === 'system') continue;
    if (message.role === 'user') pushUser(message.content);
    else if (message.role === 'tool') {
      const name = (message.toolCallId && callNames.get(message.toolCallId)) || 'the tool';
      pushUser(`Result of ${name}:\n${message.content}`);
    } else {
      const parts: string[] = [];
      if (message.content.trim()) parts.push(message.content.trim());
      if (message.toolCall) {
        callNames.set(message.toolCall.id, message.toolCall.name);
        const args = message.toolCall.arguments.trim() || '{}';
        parts.push(`{"tool": ${JSON.stringify(message.toolCall.name)}, "input": ${args}}`);
      }
      const last = history[history.length - 1];
      if (last?.type === 'model') last.response.push(`\n${parts.join('\n')}`);
      else history.push({ type: 'model', response: [parts.join('\n')] });
    }
  }
  if (!history.some((item) => item.type === 'user')) history.push({ type: 'user', text: 'Continue.' });
  history.push({ type: 'model', response: [] });
  return history;
}

/** Reads `{"tool", "input"}` from the constrained output; a cut-off output still names what it can. */
export function parseActionOutput(
  raw: string,
  tools: ToolSpec[],
): { toolCall: { id: string; name: string; arguments: string }; text?: string } {
  const id = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  try {
    const parsed = JSON.parse(raw) as { tool?: unknown; input?: unknown };
    if (typeof parsed.tool === 'string') {
      return { toolCall: { id, name: parsed.tool, arguments: JSON.stringify(parsed.input ?? {}) } };
    }
  } catch {
    // cut off at maxOutputTokens: fall through
  }
  // The grammar puts the tool name first; hand the partial input to the caller's validation (an audited retry).
  const name = /^\s*\{\s*"tool"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(raw)?.[1];
  const known = tools.find((t) => t.name === name)?.name ?? name ?? '';
  const input = /"input"\s*:\s*([\s\S]*)$/.exec(raw)?.[1] ?? '';
  return { toolCall: { id, name: known, arguments: input }, text: raw };
}

/** A short, TypeScript-like rendering of a JSON Schema for the prompt (`{"path": string, "limit"?: integer}`). */
export function describeSchema(schema: unknown, depth = 0): string {
  if (!isRecord(schema) || depth > 6) return 'any';
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alternatives = (schema.anyOf ?? schema.oneOf) as unknown;
  if (Array.isArray(alternatives)) return alternatives.map((s) => describeSchema(s, depth + 1)).join(' | ');
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').pop() || 'any';
  const type = schema.type ?? (isRecord(schema.properties) ? 'object' : schema.items ? 'array' : undefined);
  if (Array.isArray(type))
    return type.map((t) => describeSchema({ ...schema, type: t }, depth + 1)).join(' | ');
  if (type === 'object') {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    const required = new Set(Array.isArray(schema.required) ? (schema.required as unknown[]) : []);
    const fields = Object.entries(properties).map(([key, value]) => {
      const note =
        isRecord(value) && typeof value.description === 'string' ? ` /* ${value.description} */` : '';
      return `${JSON.stringify(key)}${required.has(key) ? '' : '?'}: ${describeSchema(value, depth + 1)}${note}`;
    });
    return `{${fields.join(', ')}}`;
  }
  if (type === 'array') return `${describeSchema(schema.items, depth + 1)}[]`;
  return typeof type === 'string' ? type : 'any';
}
