import type { Logger } from 'pino';
import type { McpServerConfig } from '../../config/mcpSchema';
import { StewardError } from '../../errors';
import { treatMcpTool, type McpToolTreatment } from './annotations';
import { McpConnection } from './connection';
import { checkPin, readPins, writeServerPins } from './pins';
import { mcpToolName } from './source';

export interface AcceptedTool {
  /** The Steward name (`server__tool`). */
  name: string;
  tool: string;
  hash: string;
  /** Compared with what was accepted before. */
  change: 'unchanged' | 'changed' | 'new' | 'removed';
  previousHash?: string;
  treatment?: McpToolTreatment;
}

export class UnknownMcpServer extends StewardError {}

/**
 * `steward tools accept <server>`: connects to the server, lists its tools, and records their
 * definitions (and hashes) as accepted in the data directory, replacing what was accepted before.
 * Returns each tool with how it changed and how Steward will treat it, for a person to review.
 */
export async function acceptMcpServer(
  config: {
    mcpServers: Record<string, McpServerConfig>;
    dataDir: string;
    source?: string;
    policy?: { file?: string };
  },
  server: string,
  logger: Logger,
): Promise<AcceptedTool[]> {
  const settings = config.mcpServers[server];
  if (!settings) {
    const known = Object.keys(config.mcpServers);
    throw new UnknownMcpServer(
      `no MCP server ${server} in the config (${known.length ? known.join(', ') : 'mcpServers is empty'})`,
    );
  }
  const install = { dataDir: config.dataDir, configFile: config.source, policyFile: config.policy?.file };
  const connection = new McpConnection(server, settings, install, logger);
  try {
    const { tools } = await connection.connect();
    const before = readPins(config.dataDir)[server];
    const report: AcceptedTool[] = tools.map((tool) => {
      const pin = checkPin(before, tool);
      const override = settings.tools[tool.name] ?? {};
      return {
        name: mcpToolName(server, tool.name),
        tool: tool.name,
        hash: pin.hash,
        change: pin.status === 'accepted' ? 'unchanged' : pin.status,
        ...(pin.status === 'changed' ? { previousHash: pin.acceptedHash } : {}),
        treatment: treatMcpTool(
          {
            trusted: settings.trusted,
            serverTrust: settings.trust ?? (settings.url ? 'public' : 'local'),
            serverDataClass: settings.dataClass,
            ...override,
          },
          tool.annotations,
        ),
      };
    });
    for (const [name, pinned] of Object.entries(before?.tools ?? {})) {
      if (!tools.some((t) => t.name === name))
        report.push({ name: mcpToolName(server, name), tool: name, hash: pinned.hash, change: 'removed' });
    }
    writeServerPins(config.dataDir, server, tools);
    return report;
  } finally {
    await connection.close();
  }
}
