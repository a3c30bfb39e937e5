import { API_ROLES, newToken } from '../../api/auth';
import { apiTokenSchema } from '../../config/apiSchema';
import { defineCommand, say, UsageError } from '../command';

export const tokens = defineCommand({
  name: 'tokens',
  synopsis: 'create <identity> [--role ROLE[,ROLE…]]',
  summary: 'a new API token for an identity, shown once, with the line for steward.yaml',
  details:
    `Roles: ${API_ROLES.join(', ')} (viewer reads tasks; operator also starts and cancels them; approver\n` +
    'also decides approvals; admin does all, and may start a task on behalf of someone else). Other names\n' +
    '(a policy role such as reviewer) are kept too. The token itself is never stored: steward.yaml keeps\n' +
    'its sha256 under api.tokens.',
  args: ['action', 'identity'],
  options: {
    role: {
      type: 'string',
      value: 'ROLE[,ROLE…]',
      description: 'the roles of the identity (default approver)',
    },
  },
  async run({ args: [action, identity], options }) {
    if (action !== 'create') throw new UsageError(`tokens ${action ?? ''}: the only action is create`);
    if (!identity) throw new UsageError('tokens create needs an identity');
    const roles = (options.role ?? 'approver')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    const { token, sha256 } = newToken();
    const parsed = apiTokenSchema.safeParse({ identity, roles, sha256 });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UsageError(`${issue.path.join('.') || 'token'}: ${issue.message}`);
    }
    say(`token for ${identity} (shown once; give it to them and keep it secret):`);
    say(`  ${token}`);
    say('');
    say('add this line under api.tokens in steward.yaml:');
    say(`  - { identity: ${JSON.stringify(identity)}, roles: [${roles.join(', ')}], sha256: ${sha256} }`);
    return 0;
  },
});
