import { acceptMcpServer, type AcceptedTool } from '../../tools/mcp/accept';
import { readPins } from '../../tools/mcp/pins';
import { declaredTools } from '../../runtime/localStack';
import { getLogger } from '../../runtime/logger';
import { defineCommand, say, UsageError } from '../command';

const CHANGE: Record<AcceptedTool['change'], string> = {
  unchanged: 'unchanged',
  changed: 'CHANGED',
  new: 'new',
  removed: 'removed',
};

export const tools = defineCommand({
  name: 'tools',
  synopsis: '[accept <server>]',
  summary: 'the tools this install offers; accept an MCP server’s tool definitions',
  details:
    'Without arguments: every tool (built-in, and each MCP server’s as accepted) with its effect, the\n' +
    'class of data it returns, and where its input may go. `accept <server>` connects to the MCP\n' +
    'server, shows its tools (what changed since they were last accepted, how Steward will treat\n' +
    'them, the sha256 each is pinned to) and records them as accepted: a worker offers only tools\n' +
    'whose definitions match what was accepted.',
  args: ['action', 'server'],
  options: {},
  async run({ config, args: [action, server] }) {
    if (action === undefined) return list(config);
    if (action !== 'accept' || !server) throw new UsageError('usage: steward tools [accept <server>]');
    const accepted = await acceptMcpServer(config, server, getLogger());
    say(`MCP server ${server}: ${accepted.filter((t) => t.change !== 'removed').length} tools accepted`);
    for (const tool of accepted) {
      const t = tool.treatment;
      say(
        `  ${tool.name.padEnd(32)} ${CHANGE[tool.change].padEnd(9)} ` +
          (t ? `${t.effect.padEnd(12)} returns ${t.dataClass.padEnd(12)} input reaches ${t.reach}` : ''),
      );
      say(`      sha256 ${tool.hash}${tool.previousHash ? ` (was ${tool.previousHash})` : ''}`);
      if (t) say(`      ${t.why.join('; ')}`);
    }
    say(`recorded in ${config.dataDir}; workers check it when they connect`);
    return 0;
  },
});

function list(config: Parameters<typeof declaredTools>[0]): number {
  const registry = declaredTools(config);
  for (const descriptor of registry.describe(registry.names())) {
    const reach = registry.reachOf(descriptor.name);
    say(
      `${descriptor.name.padEnd(32)} ${descriptor.effect.padEnd(12)} returns ${descriptor.dataClass.padEnd(12)}` +
        (reach ? ` input reaches ${reach}` : ''),
    );
  }
  const pins = readPins(config.dataDir);
  for (const server of Object.keys(config.mcpServers).filter((s) => !pins[s]))
    say(`MCP server ${server}: not accepted yet (steward tools accept ${server})`);
  return 0;
}
