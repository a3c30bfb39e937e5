import type { McpServerConfig } from '../../config/mcpSchema';
import { ErrorTypes, failure } from '../../errors';
import { treatMcpTool } from './annotations';
import { readPins } from './pins';
import { mcpToolName, mcpToolOutputSchema, toZod, type McpToolDefinition } from './source';

/**
 * The MCP tools as accepted (from the pin file), without connecting to any server: what the CLI
 * checks a start request against before a worker does. Their handlers refuse to run: the worker runs
 * MCP tools, after checking the server still lists what was accepted.
 */
export function acceptedMcpTools(
  servers: Record<string, McpServerConfig>,
  dataDir: string,
): { tools: McpToolDefinition[]; reasonFor(name: string): string | undefined } {
  const pins = readPins(dataDir);
  const tools: McpToolDefinition[] = [];
  const reasons = new Map<string, string>();
  for (const [server, config] of Object.entries(servers)) {
    const pinned = pins[server];
    if (!pinned) {
      reasons.set(
        `${server}__`,
        `MCP server ${server} has not been accepted yet: review it and run \`steward tools accept ${server}\``,
      );
      continue;
    }
    for (const [tool, pin] of Object.entries(pinned.tools)) {
      const name = mcpToolName(server, tool);
      if (config.tools[tool]?.disabled) continue;
      let input;
      try {
        input = toZod(pin.inputSchema);
      } catch (err) {
        reasons.set(
          name,
          `tool ${tool} of MCP server ${server} has an input schema zod cannot represent: ${(err as Error).message}`,
        );
        continue;
      }
      const treatment = treatMcpTool(
        {
          trusted: config.trusted,
          serverTrust: config.trust ?? (config.url ? 'public' : 'local'),
          serverDataClass: config.dataClass,
          ...config.tools[tool],
        },
        pin.annotations,
      );
      tools.push({
        name,
        description: pin.description,
        effect: treatment.effect,
        dataClass: treatment.dataClass,
        placement: 'worker',
        input,
        output: mcpToolOutputSchema,
        definitionHash: pin.hash,
        reach: treatment.reach,
        mcp: { server, tool, treatment },
        async handler() {
          throw failure(
            ErrorTypes.NotRegistered,
            `${name} runs on a worker connected to MCP server ${server}`,
          );
        },
      });
    }
  }
  return {
    tools,
    reasonFor(name) {
      if (reasons.has(name)) return reasons.get(name);
      for (const [prefix, reason] of reasons)
        if (prefix.endsWith('__') && name.startsWith(prefix)) return reason;
      return undefined;
    },
  };
}
