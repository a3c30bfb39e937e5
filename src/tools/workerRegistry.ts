import type { ToolDescriptor, TrustTier } from '../shared/types';
import { ToolRegistry } from './registry';

/**
 * The worker's tool registry: the tools it runs, and what it can say about tools it knows of but
 * cannot offer (an MCP server that did not start, a tool that changed since it was accepted). A task
 * that needs such a tool is refused at start with that reason instead of "unknown tool".
 */
export class WorkerToolRegistry extends ToolRegistry {
  private readonly explainers: ((name: string) => string | undefined)[] = [];

  /** Adds a source of reasons why a tool is not offered (undefined: no reason, offered or unknown). */
  explainMissing(explain: (name: string) => string | undefined): this {
    this.explainers.push(explain);
    return this;
  }

  unavailableReason(name: string): string | undefined {
    for (const explain of this.explainers) {
      const reason = explain(name);
      if (reason) return reason;
    }
    return undefined;
  }

  /** The least private tier a tool's input may reach, when the tool says (an MCP tool does). */
  reachOf(name: string): TrustTier | undefined {
    return (this.get(name) as { reach?: TrustTier } | undefined)?.reach;
  }

  /**
   * As ToolRegistry's, refusing unavailable tools with their reason; a pinned tool keeps its pin as its
   * hash, and a tool whose input may leave says how far (`reach`).
   */
  override describe(names: string[]): ToolDescriptor[] {
    for (const name of names) {
      const reason = this.unavailableReason(name);
      if (reason) throw new Error(`tool ${name} is unavailable: ${reason}`);
    }
    return super.describe(names).map((descriptor) => {
      const pinned = (this.get(descriptor.name) as { definitionHash?: string } | undefined)?.definitionHash;
      const reach = this.reachOf(descriptor.name);
      return {
        ...descriptor,
        ...(pinned ? { definitionHash: pinned } : {}),
        ...(reach ? { reach } : {}),
      };
    });
  }
}
