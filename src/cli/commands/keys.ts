import { keyFingerprint } from '../../audit/signing';
import { ensureInstallKey, installKeyPath } from '../../stores/keys';
import { defineCommand, say, UsageError } from '../command';

export const keys = defineCommand({
  name: 'keys',
  synopsis: '[init | show]',
  summary:
    "this install's Ed25519 key: made on first use, it signs the decisions made here and its audit heads",
  details:
    'Other workers accept this install’s decisions once its public key is in their config:\n' +
    '  signing: { trustedKeys: [{ id, publicKey, signsFor: ["*"] }] }',
  args: ['action'],
  options: {},
  async run({ config, args: [action = 'show'] }) {
    if (action !== 'init' && action !== 'show')
      throw new UsageError(`keys takes init or show, not ${action}`);
    const key = ensureInstallKey(config.dataDir); // the private key stays in its file (0600)
    say(`key:         ${key.keyId}`);
    say(`public key:  ${key.publicKey}`);
    say(`fingerprint: ${keyFingerprint(key.publicKey)}`);
    say(`file:        ${installKeyPath(config.dataDir)}`);
    say(`trust it on another worker (steward.yaml):`);
    say(`  signing: { trustedKeys: [{ id: ${key.keyId}, publicKey: ${key.publicKey}, signsFor: ['*'] }] }`);
    say(`trust the audit heads it signs (steward audit verify elsewhere):`);
    say(`  signing: { auditKeys: [{ id: ${key.keyId}, publicKey: ${key.publicKey} }] }`);
    return 0;
  },
});
