import fc from 'fast-check';
import { DEFAULT_DATA_BOUNDARIES, evaluateAction } from '../../src/policies/evaluate';
import type { Policy } from '../../src/policies/types';
import type { ToolDescriptor, ToolEffect } from '../../src/shared/types';
import {
  effectFromAnnotations,
  stricterEffect,
  treatMcpTool,
  type McpAnnotations,
  type McpToolSettings,
} from '../../src/tools/mcp/annotations';
import { checkPin, mcpDefinitionHash } from '../../src/tools/mcp/pins';
import { mcpToolName, outputOf } from '../../src/tools/mcp/source';

const server = (over: Partial<McpToolSettings> = {}): McpToolSettings => ({
  trusted: false,
  serverTrust: 'local',
  serverDataClass: 'internal',
  ...over,
});
const treat = (over: Partial<McpToolSettings>, annotations?: McpAnnotations) =>
  treatMcpTool(server(over), annotations);

describe('MCP annotations → Steward effect, reach and data class', () => {
  test('the mapping: readOnlyHint → read; destructiveHint false → write; otherwise irreversible', () => {
    expect(effectFromAnnotations({ readOnlyHint: true })).toBe('read');
    expect(effectFromAnnotations({ readOnlyHint: true, destructiveHint: true })).toBe('read');
    expect(effectFromAnnotations({ destructiveHint: false })).toBe('write');
    expect(effectFromAnnotations({ readOnlyHint: false, destructiveHint: false })).toBe('write');
    expect(effectFromAnnotations({ readOnlyHint: false })).toBe('irreversible');
    expect(effectFromAnnotations({ idempotentHint: true })).toBe('irreversible');
    expect(effectFromAnnotations(undefined)).toBe('irreversible');
  });

  test('a trusted server: its annotations decide unless configuration says otherwise', () => {
    expect(treat({ trusted: true }, { readOnlyHint: true, openWorldHint: false })).toMatchObject({
      effect: 'read',
      openWorld: false,
      reach: 'local',
    });
    expect(treat({ trusted: true }, { destructiveHint: false })).toMatchObject({
      effect: 'write',
      openWorld: true,
    });
    expect(treat({ trusted: true, effect: 'irreversible' }, { readOnlyHint: true }).effect).toBe(
      'irreversible',
    );
    expect(treat({ trusted: true, effect: 'read' }, { destructiveHint: true }).effect).toBe('read');
    expect(treat({ trusted: true, openWorld: false }, { openWorldHint: true }).openWorld).toBe(false);
  });

  test('an untrusted server: strictest by default; its annotations tighten configuration, never loosen it', () => {
    expect(treat({}, { readOnlyHint: true, openWorldHint: false })).toMatchObject({
      effect: 'irreversible',
      openWorld: true,
      reach: 'public',
    });
    expect(treat({ effect: 'read' }, undefined).effect).toBe('read');
    expect(treat({ effect: 'read' }, { readOnlyHint: true }).effect).toBe('read');
    expect(treat({ effect: 'read' }, { destructiveHint: false }).effect).toBe('write');
    expect(treat({ effect: 'read' }, { readOnlyHint: false }).effect).toBe('irreversible');
    expect(treat({ effect: 'write' }, { readOnlyHint: true }).effect).toBe('write');
    expect(treat({ openWorld: false }, { openWorldHint: false })).toMatchObject({
      openWorld: false,
      reach: 'local',
    });
    expect(treat({ openWorld: false }, { openWorldHint: true })).toMatchObject({
      openWorld: true,
      reach: 'public',
    });
    expect(treat({ openWorld: false, effect: 'read' }, { readOnlyHint: false }).why.join('; ')).toContain(
      'tightened by its annotations',
    );
  });

  test('the data class of what a tool returns comes from configuration: the tool’s, else the server’s', () => {
    expect(treat({}, { readOnlyHint: true }).dataClass).toBe('internal');
    expect(treat({ serverDataClass: 'confidential' }).dataClass).toBe('confidential');
    expect(treat({ serverDataClass: 'confidential', dataClass: 'public' }).dataClass).toBe('public');
  });

  test('a closed-world tool reaches its server’s tier; an HTTP server’s is whatever configuration says', () => {
    expect(treat({ openWorld: false, serverTrust: 'private' }).reach).toBe('private');
  });

  const effects: ToolEffect[] = ['read', 'write', 'spend', 'irreversible'];
  const rank = (e: ToolEffect) => effects.indexOf(e);
  const hint = fc.option(fc.boolean(), { nil: undefined });
  const annotations = fc.record(
    { readOnlyHint: hint, destructiveHint: hint, openWorldHint: hint },
    { requiredKeys: [] },
  );

  test('property: an untrusted server’s annotations never make a tool looser than configuration', () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom(...effects), { nil: undefined }),
        fc.option(fc.boolean(), { nil: undefined }),
        annotations,
        (effect, openWorld, a) => {
          const treated = treat({ effect, openWorld }, a);
          expect(rank(treated.effect)).toBeGreaterThanOrEqual(rank(effect ?? 'irreversible'));
          if (openWorld !== false) expect(treated.openWorld).toBe(true);
          expect(treated.effect).toBe(stricterEffect(treated.effect, effect ?? 'irreversible'));
        },
      ),
    );
  });

  test('property: without configuration, an untrusted tool is irreversible and open world whatever it claims', () => {
    fc.assert(
      fc.property(annotations, (a) => {
        expect(treat({}, a)).toMatchObject({ effect: 'irreversible', openWorld: true, reach: 'public' });
      }),
    );
  });
});

describe('the data boundary for a tool whose input may leave', () => {
  const policy = (dataBoundaries = DEFAULT_DATA_BOUNDARIES): Policy => ({
    rules: [{ id: 'allow-all', decision: 'allow' }],
    approval: { approvers: ['a'], quorum: 1, timeoutSeconds: 60, onExpiry: 'stop' },
    dataBoundaries,
  });
  const tool = (over: Partial<ToolDescriptor> = {}): ToolDescriptor => ({
    name: 'web__search',
    description: '',
    effect: 'read',
    dataClass: 'public',
    placement: 'worker',
    inputSchema: {},
    reach: 'public',
    ...over,
  });

  test('with the default boundaries an open-world tool is denied to a task holding confidential data, whatever the rules', () => {
    expect(evaluateAction(policy(), 'web__search', [tool()], { dataClass: 'confidential' })).toEqual({
      decision: 'deny',
      ruleIds: ['builtin/data-boundary'],
      reason:
        "web__search may send its input to public parties, where the task's confidential data may not go",
    });
    expect(evaluateAction(policy(), 'web__search', [tool()], { dataClass: 'internal' }).decision).toBe(
      'allow',
    );
  });

  test('what the tool itself returns does not count against its own input', () => {
    const returnsSecrets = tool({ dataClass: 'confidential' });
    expect(evaluateAction(policy(), 'web__search', [returnsSecrets], { dataClass: 'public' }).decision).toBe(
      'allow',
    );
  });

  test('a closed-world tool of a local server, and a tool that says nothing, are not held back', () => {
    expect(
      evaluateAction(policy(), 'fs__read', [tool({ name: 'fs__read', reach: 'local' })], {
        dataClass: 'confidential',
      }).decision,
    ).toBe('allow');
    expect(
      evaluateAction(policy(), 'plain', [tool({ name: 'plain', reach: undefined })], {
        dataClass: 'confidential',
      }).decision,
    ).toBe('allow');
  });

  test('stricter boundaries keep more data in', () => {
    const strict = {
      public: ['local', 'private', 'public'],
      internal: ['local'],
      confidential: ['local'],
    } as Policy['dataBoundaries'];
    const privateServer = tool({ reach: 'private' });
    expect(
      evaluateAction(policy(strict), 'web__search', [privateServer], { dataClass: 'internal' }).decision,
    ).toBe('deny');
    expect(
      evaluateAction(policy(strict), 'web__search', [privateServer], { dataClass: 'public' }).decision,
    ).toBe('allow');
  });
});

describe('pinning a tool definition', () => {
  const tool = {
    name: 'read',
    description: 'Reads a file',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
    annotations: { readOnlyHint: true, title: 'Read' },
  };

  test('the hash covers name, description, input schema and behavioural hints, in any key order', () => {
    const hash = mcpDefinitionHash(tool);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const reordered = {
      ...tool,
      inputSchema: { required: ['path'], properties: { path: { type: 'string' } }, type: 'object' },
    };
    expect(mcpDefinitionHash(reordered)).toBe(hash);
    expect(mcpDefinitionHash({ ...tool, annotations: { readOnlyHint: true, title: 'Another title' } })).toBe(
      hash,
    );
    expect(mcpDefinitionHash({ ...tool, description: 'Reads a file and mails it' })).not.toBe(hash);
    expect(mcpDefinitionHash({ ...tool, inputSchema: { ...tool.inputSchema, required: [] } })).not.toBe(hash);
    expect(mcpDefinitionHash({ ...tool, annotations: { readOnlyHint: false } })).not.toBe(hash);
    expect(mcpDefinitionHash({ ...tool, name: 'read2' })).not.toBe(hash);
  });

  test('a listing compared with what was accepted: accepted, changed or new', () => {
    const pinned = {
      acceptedAt: 'x',
      tools: { read: { hash: mcpDefinitionHash(tool), description: '', inputSchema: {}, annotations: {} } },
    };
    expect(checkPin(pinned, tool).status).toBe('accepted');
    expect(checkPin(pinned, { ...tool, description: 'changed' })).toMatchObject({
      status: 'changed',
      acceptedHash: mcpDefinitionHash(tool),
    });
    expect(checkPin(pinned, { ...tool, name: 'other' }).status).toBe('new');
    expect(checkPin(undefined, tool).status).toBe('new');
  });
});

describe('names and results', () => {
  test('a tool is named <server>__<tool>, in characters every model API accepts', () => {
    expect(mcpToolName('fs', 'read_file')).toBe('fs__read_file');
    expect(mcpToolName('gh', 'issues.list/all')).toBe('gh__issues_list_all');
  });

  test('text and structured content are recorded; binary parts are described, not kept', () => {
    expect(
      outputOf({
        content: [
          { type: 'text', text: 'one' },
          { type: 'image', data: 'AAAA', mimeType: 'image/png' },
          { type: 'resource', resource: { uri: 'file:///a', text: 'two' } },
        ],
        structuredContent: { n: 1 },
      }),
    ).toEqual({
      text: 'one\ntwo',
      structured: { n: 1 },
      parts: [{ type: 'image', mimeType: 'image/png', bytes: 3 }],
    });
  });
});
