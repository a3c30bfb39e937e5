import { resolve } from 'node:path';
import { policyOfDocument } from '../../policies/taskPolicy';
import { policyHash } from '../../policies/taskSpec';
import { readPolicyFile, readPolicySamples, type PolicySample } from '../../config/policyFile';
import type { LoadedConfig } from '../../config/load';
import { approvalPlan } from '../../policies/approval';
import { checkSample, decisionsOf, describePlan } from '../../policies/explain';
import type { Policy } from '../../policies/types';
import { agentRegistry } from '../../runtime/localStack';
import type { ToolDescriptor } from '../../shared/types';
import { builtinTools } from '../../tools/builtin';
import { ToolRegistry } from '../../tools/registry';
import { defineCommand, say, UsageError } from '../command';
import { connect, withSession } from '../session';

const USAGE = 'usage: steward policy check <file> [--actions samples.yaml] | steward policy explain <taskId>';

export const policy = defineCommand({
  name: 'policy',
  synopsis: 'check <file> [--actions FILE] | explain <taskId>',
  summary: 'check a policy file against sample actions, or explain every decision a task got',
  details:
    'check: validates a policy file (errors name the file, the path and what was expected), prints its\n' +
    'approval rules and, with --actions, what each sample action would get and which rules decided.\n' +
    'A sample is { tool, args, agent?, principal?, effect?, dataClass?, seen?, expect? }; with expect, a\n' +
    'sample that gets another decision makes the check fail (exit 1).\n' +
    "explain: every policy and approval decision in a task's audit trail, with the rule ids.",
  args: ['check|explain', 'file|taskId'],
  options: {
    actions: { type: 'string', value: 'FILE', description: 'sample actions (YAML list) to decide' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  async run({ config, args: [action, target], options }) {
    if (!target || (action !== 'check' && action !== 'explain')) throw new UsageError(USAGE);
    if (action === 'check') return check(config, resolve(target), options);
    return withSession(connect(config), async (session) => {
      await session.client.state(target); // an unknown task is one clear line
      const decisions = decisionsOf(await session.client.audit(target));
      if (options.json) {
        say(JSON.stringify(decisions, null, 2));
        return 0;
      }
      say(`task ${target}: ${decisions.length} decisions`);
      for (const d of decisions) {
        const rules = d.ruleIds ? `   [${d.ruleIds.join(', ')}]` : '';
        say(`  #${String(d.seq).padEnd(3)} step ${String(d.step).padStart(2)}  ${d.text}${rules}`);
      }
      return 0;
    });
  },
});

function check(config: LoadedConfig, file: string, options: { actions?: string; json?: boolean }): number {
  const read = readPolicyFile(file);
  const policy = policyOfDocument(read.document);
  const samples = options.actions ? readPolicySamples(resolve(options.actions)) : [];
  const results = samples.map((sample) => ({
    sample,
    ...checkSample(policy, sample, grantedFor(config, sample)),
  }));
  const failed = results.filter((r) => r.sample.expect && r.sample.expect !== r.verdict.decision);
  if (options.json) {
    say(JSON.stringify({ file, sha256: read.sha256, policyHash: policyHash(policy), results }, null, 2));
    return failed.length ? 1 : 0;
  }
  say(describePolicy(file, read.sha256, policy));
  results.forEach(({ sample, verdict, approval }, i) => {
    const who = [sample.agent && `agent ${sample.agent}`, sample.principal && `principal ${sample.principal}`]
      .filter(Boolean)
      .join(', ');
    say(`  ${i + 1}. ${sample.tool} ${JSON.stringify(sample.args)}${who ? ` (${who})` : ''}`);
    say(`     → ${verdict.decision}: ${verdict.reason}   [${verdict.ruleIds.join(', ')}]`);
    if (approval) say(`       approval ${verdict.approval ?? 'default'}: ${describePlan(approval)}`);
    if (sample.expect && sample.expect !== verdict.decision) say(`     ✗ expected ${sample.expect}`);
  });
  if (failed.length)
    say(`${failed.length} of ${results.length} sample actions got another decision than expected`);
  return failed.length ? 1 : 0;
}

function describePolicy(file: string, sha256: string, policy: Policy): string {
  const lines = [
    `${file}: valid (file sha256 ${sha256})`,
    `  policy hash a task records: ${policyHash(policy)}`,
    `  ${policy.rules.length} rules; unlisted actions: ${policy.fallback === 'builtin' ? 'built-in defaults' : 'denied'}` +
      `${policy.dataCeiling ? `; data ceiling: ${policy.dataCeiling}` : ''}; roles for ${Object.keys(policy.roles ?? {}).length} identities`,
  ];
  for (const name of Object.keys(policy.approvals ?? {})) {
    lines.push(`  approval ${name}: ${describePlan(approvalPlan(policy, name)!)}`);
  }
  return lines.join('\n');
}

/**
 * The tools a sample's agent has (this install's agents and built-in tools), or just the sample's own
 * tool when its agent is not named or not known here. A tool this install does not know needs the
 * sample to say its effect (its data class defaults to internal).
 */
function grantedFor(config: LoadedConfig, sample: PolicySample): ToolDescriptor[] {
  const registry = new ToolRegistry().register(...builtinTools(config.tools));
  const describe = (name: string): ToolDescriptor | undefined => {
    const known = registry.get(name) ? registry.describe([name])[0] : undefined;
    if (!known && !(name === sample.tool && sample.effect)) return undefined;
    return {
      name,
      description: known?.description ?? name,
      effect: name === sample.tool ? (sample.effect ?? known!.effect) : known!.effect,
      dataClass:
        name === sample.tool ? (sample.dataClass ?? known?.dataClass ?? 'internal') : known!.dataClass,
      placement: known?.placement ?? 'worker',
      inputSchema: known?.inputSchema ?? {},
    };
  };
  const agents = agentRegistry(config);
  if (sample.agent && agents.has(sample.agent)) {
    return agents
      .get(sample.agent)
      .tools.map(describe)
      .filter((t): t is ToolDescriptor => t !== undefined);
  }
  const own = describe(sample.tool);
  if (!own)
    throw new UsageError(
      `sample action on ${sample.tool}: this install does not know the tool; give its effect`,
    );
  return [own];
}
