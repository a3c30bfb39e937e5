import type { DataClass, ToolEffect, TrustTier } from '../../shared/types';

/** The behavioural hints of an MCP tool's annotations (MCP 2025-06-18, `ToolAnnotations`). */
export interface McpAnnotations {
  /** Display only: not pinned, no effect on treatment. */
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** What configuration says about a tool (all optional) and about its server. */
export interface McpToolSettings {
  /** Trust the server's annotations; untrusted, they may only tighten. */
  trusted: boolean;
  /** Who runs the server, and so sees every call's input. */
  serverTrust: TrustTier;
  /** Class of what the server's tools return, unless the tool's own setting says otherwise. */
  serverDataClass: DataClass;
  effect?: ToolEffect;
  dataClass?: DataClass;
  openWorld?: boolean;
}

/** How Steward treats one MCP tool, and why, in words a person can check. */
export interface McpToolTreatment {
  effect: ToolEffect;
  /** Class of the data the tool returns. */
  dataClass: DataClass;
  /** Whether the tool may send its input beyond the server (to anyone). */
  openWorld: boolean;
  /** The least private tier the tool's input may reach: `public` when open world, else the server's. */
  reach: TrustTier;
  why: string[];
}

const EFFECT_ORDER: ToolEffect[] = ['read', 'write', 'spend', 'irreversible'];

export function stricterEffect(a: ToolEffect, b: ToolEffect): ToolEffect {
  return EFFECT_ORDER.indexOf(a) >= EFFECT_ORDER.indexOf(b) ? a : b;
}

/**
 * The effect the annotations give, with the MCP defaults for what they leave out (readOnlyHint
 * false, destructiveHint true): `readOnlyHint: true` → read; else `destructiveHint: false` → write;
 * else irreversible.
 */
export function effectFromAnnotations(annotations: McpAnnotations | undefined): ToolEffect {
  if (annotations?.readOnlyHint === true) return 'read';
  if (annotations?.destructiveHint === false) return 'write';
  return 'irreversible';
}

/**
 * What the annotations *state* about the effect, or undefined when they state nothing. Used for an
 * untrusted server, where only a stated hint may tighten: a server that says nothing cannot make
 * configuration stricter by the protocol's defaults, and one that claims to be read-only cannot make
 * it looser.
 */
function statedEffect(annotations: McpAnnotations | undefined): ToolEffect | undefined {
  if (!annotations) return undefined;
  if (annotations.readOnlyHint === true) return 'read';
  if (annotations.readOnlyHint === false || annotations.destructiveHint !== undefined)
    return annotations.destructiveHint === false ? 'write' : 'irreversible';
  return undefined;
}

/**
 * How a tool is treated, from configuration and the server's annotations.
 *
 * - Trusted server: configuration's setting, else the annotations (with MCP's defaults).
 * - Untrusted (the default): configuration's setting, else the strictest (irreversible, open world);
 *   a hint the server states may make it stricter, never looser.
 * - Data class (of what the tool returns): the tool's setting, else the server's; annotations say
 *   nothing about it.
 * - Reach: an open-world tool's input may reach anyone (`public`); a closed-world tool's reaches the
 *   server only (its `trust`). The policy's data boundaries then apply to the input as they do to a
 *   model route: a task holding data of a class that may not go to that tier may not call the tool.
 */
export function treatMcpTool(
  settings: McpToolSettings,
  annotations: McpAnnotations | undefined,
): McpToolTreatment {
  const why: string[] = [];
  let effect: ToolEffect;
  let openWorld: boolean;
  if (settings.trusted) {
    effect = settings.effect ?? effectFromAnnotations(annotations);
    why.push(
      settings.effect
        ? `effect ${effect}: configuration`
        : `effect ${effect}: annotations of a trusted server (${hints(annotations)})`,
    );
    openWorld = settings.openWorld ?? annotations?.openWorldHint ?? true;
    why.push(
      `open world ${openWorld}: ${settings.openWorld !== undefined ? 'configuration' : annotations?.openWorldHint !== undefined ? 'annotations of a trusted server' : 'the MCP default'}`,
    );
  } else {
    const base = settings.effect ?? 'irreversible';
    const stated = statedEffect(annotations);
    effect = stated ? stricterEffect(base, stated) : base;
    why.push(
      `effect ${effect}: ${settings.effect ? 'configuration' : 'untrusted server, strictest by default'}` +
        (stated && effect !== base ? ` tightened by its annotations (${hints(annotations)})` : ''),
    );
    const baseOpen = settings.openWorld ?? true;
    openWorld = baseOpen || annotations?.openWorldHint === true;
    why.push(
      `open world ${openWorld}: ${settings.openWorld !== undefined ? 'configuration' : 'untrusted server, open by default'}` +
        (openWorld && !baseOpen ? ' tightened by its annotations' : ''),
    );
  }
  const dataClass = settings.dataClass ?? settings.serverDataClass;
  const reach: TrustTier = openWorld ? 'public' : settings.serverTrust;
  why.push(`data class ${dataClass}: ${settings.dataClass ? 'configuration of the tool' : 'the server’s'}`);
  return { effect, dataClass, openWorld, reach, why };
}

function hints(annotations: McpAnnotations | undefined): string {
  const stated = Object.entries(annotations ?? {})
    .filter(([k, v]) => k.endsWith('Hint') && typeof v === 'boolean')
    .map(([k, v]) => `${k}: ${String(v)}`);
  return stated.length ? stated.join(', ') : 'none stated';
}

const CLASSES: DataClass[] = ['public', 'internal', 'confidential'];

/**
 * The data classes whose boundary excludes `reach`: a task that has seen data of one of them may not
 * call a tool whose input reaches that tier. With the default boundaries an open-world tool is
 * kept from confidential data, as a public model route is.
 */
export function classesBeyondReach(
  boundaries: Record<DataClass, TrustTier[]>,
  reach: TrustTier,
): DataClass[] {
  return CLASSES.filter((c) => !boundaries[c].includes(reach));
}
