import { keyFingerprint } from '../../audit/signing';
import { ensureInstallKey, installKeyPath, loadInstallKey } from '../../stores/keys';
import { defineCommand, note, say, UsageError } from '../command';

export const keys = defineCommand({
  name: 'keys',
  synopsis: '[init | show]',
  summary:
    "this install's Ed25519 key: init makes it (once), show prints it; it signs the decisions made here and its audit heads",
  details:
    'show never makes a key: with none yet it says so and exits 1 (`steward keys init` makes one).\n' +
    'Other workers accept this install’s decisions once its public key is in their config:\n' +
    '  signing: { trustedKeys: [{ id, publicKey, signsFor: ["*"] }] }',
  args: ['action'],
  options: {},
  async run({ config, args: [action = 'show'] }) {
    if (action !== 'init' && action !== 'show')
      throw new UsageError(`keys takes init or show, not ${action}`);
    // show only reads: a key made by a look would sign for an install nobody set up
    const key = action === 'init' ? ensureInstallKey(config.dataDir) : loadInstallKey(config.dataDir);
    if (!key) {
      note(
        `steward: this install has no key yet (no ${installKeyPath(config.dataDir)}): make one with \`steward keys init\``,
      );
      return 1;
    }
    // the private key stays in its file (0600)
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
