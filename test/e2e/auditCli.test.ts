/**
 * `steward audit show | export | verify` as a person or an auditor runs them: the real CLI, as its own
 * process, on the audit store a real worker wrote (the harness's files under `<dir>/data/audit`) and
 * the suite's Temporal dev server. Tampering is done to copies of an exported file, the way someone
 * with the file would do it; the signed head is also checked with `openssl` alone, without Steward.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashEntry, type AuditEntry } from '../../src/audit/chain';
import { headMessage, signHead, type SignedHead } from '../../src/audit/head';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { verifyTrail } from '../../src/audit/verify';
import { parseConfig } from '../../src/config/load';
import { createProviders } from '../../src/providers';
import { runCli, stopAllCli, type CliEnv, type CliResult } from '../support/cliProcess';
import { approveWhenAsked, auditedWriter, scriptReadThenWrite } from '../support/auditedTask';
import { eventually, Harness } from '../support/harness';
import { MockOpenAI } from '../support/mockOpenAI';

jest.setTimeout(180_000);

const harness = new Harness({ config: { policy: { approval: { approvers: ['alice'] } } } });

/** A task with an approval that continued as new, finished before the tests; its export (plain). */
let taskId = '';
let exported = '';
let lines: string[] = [];

async function runApprovedTask(h: Harness, path: string): Promise<string> {
  scriptReadThenWrite(h, path);
  const spec = h.spec(auditedWriter, { input: `write ${path}`, limits: { stepsPerRun: 2 } });
  const handle = await h.launch(spec);
  await approveWhenAsked(h, spec.taskId);
  expect((await handle.result()).status).toBe('completed');
  return spec.taskId;
}

/** A CLI reading `h`'s data directory; `trust` puts the audit key of `h`'s workers in signing.auditKeys. */
function cliFor(h: Harness, name: string, trust: boolean): CliEnv {
  const config = join(h.dir, `${name}.yaml`);
  writeFileSync(
    config,
    stringify({
      tools: { workspace: h.workspace },
      ...(trust
        ? { signing: { auditKeys: [{ id: h.auditKey.keyId, publicKey: h.auditKey.publicKey }] } }
        : {}),
    }),
  );
  return { config, dataDir: join(h.dir, 'data'), cwd: h.dir };
}

const steward = (args: string[], env: CliEnv): Promise<CliResult> => runCli(['audit', ...args], env, 60_000);
const trusting = (): CliEnv => cliFor(harness, 'trusting', true);
const untrusting = (): CliEnv => cliFor(harness, 'untrusting', false);

beforeAll(async () => {
  await harness.start();
  taskId = await runApprovedTask(harness, 'audited.txt');
  exported = join(harness.dir, 'trail.jsonl');
  const { code, stderr } = await steward(['export', taskId, '--out', exported], trusting());
  expect({ code, stderr }).toEqual({
    code: 0,
    stderr: expect.stringMatching(/wrote \d+ entries and the signed head/),
  });
  lines = readFileSync(exported, 'utf8').trimEnd().split('\n');
});

afterAll(async () => {
  await stopAllCli();
  await harness.stop();
});

const entriesOf = (text: string[]): AuditEntry[] =>
  text
    .map((l) => JSON.parse(l) as AuditEntry | SignedHead)
    .filter((x): x is AuditEntry => !('type' in x && x.type === 'head'));
const headOf = (text: string[]): SignedHead => JSON.parse(text.at(-1)!) as SignedHead;

describe('steward audit show and export', () => {
  test('show: a readable trail naming the agent, the principal, the model, route and worker, the rule, the approver and the cost', async () => {
    const { code, stdout, stderr } = await steward(['show', taskId], trusting());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const entries = (await harness.auditStore.read(taskId)).entries;
    expect(stdout).toContain(`task ${taskId}: ${auditedWriter.name} for bob, ${entries.length} entries`);
    expect(stdout).toMatch(
      new RegExp(
        `signed head: entry ${entries.length} by ${harness.auditKey.keyId} \\(fingerprint \\w+\\) at task completed`,
      ),
    );
    const model = entries.find((e) => e.kind === 'model.called')!;
    expect(model.route?.worker).toEqual(expect.any(String));
    // the model, its provider, route, tokens, cost and the worker that ran it
    expect(stdout).toMatch(
      /model\.called\s+mock-large via mock \(route primary\) · \d+→\d+ tokens · \$\d+\.\d{6} billed · on \S+/,
    );
    expect(stdout).toContain(`on ${model.route!.worker}`);
    // the rule that asked for the approval, and who approved
    const decided = entries.find((e) => e.kind === 'policy.decided' && e.decision?.effect === 'approve')!;
    expect(decided.decision!.ruleIds.length).toBeGreaterThan(0);
    expect(stdout).toContain(`write_file: approve · rule ${decided.decision!.ruleIds.join(', ')}`);
    expect(stdout).toMatch(/approval\.decided\s+alice approved write_file · signed by key harness/);
    expect(stdout).toMatch(/task\.completed\s+completed · spent \$0\.\d{6}/);
    // one line per entry, in order, and no model chatter (the prompt is not in it)
    const rows = stdout.split('\n').filter((l) => /^\s*\d+ {2}\d\d:\d\d:\d\d {2}step/.test(l));
    expect(rows.map((l) => Number(l.trim().split(' ')[0]))).toEqual(entries.map((e) => e.seq));
    expect(stdout).not.toContain('Read, then write what you are asked to.');
  });

  test('export: JSON Lines, every stored entry then the last signed head; --cloudevents wraps each line as a CloudEvent', async () => {
    const stored = await harness.auditStore.read(taskId);
    expect(entriesOf(lines)).toEqual(stored.entries);
    const head = headOf(lines);
    expect(head).toMatchObject({
      type: 'head',
      taskId,
      seq: stored.entries.length,
      reason: 'task completed',
    });
    expect(head.hash).toBe(stored.entries.at(-1)!.hash);

    const file = join(harness.dir, 'trail.ce.jsonl');
    const { code } = await steward(['export', taskId, '--out', file, '--cloudevents'], trusting());
    expect(code).toBe(0);
    const events = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(lines.length);
    events.forEach((event, i) => {
      expect(event).toMatchObject({
        specversion: '1.0',
        source: 'steward',
        subject: taskId,
        datacontenttype: 'application/json',
        data: JSON.parse(lines[i]!),
      });
    });
    expect(events[0]!.type).toBe('dev.steward.audit.task.started');
    expect(events.at(-1)).toMatchObject({ type: 'dev.steward.audit.head', id: `${taskId}/head/${head.seq}` });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    const verified = await steward(['verify', file], trusting());
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      new RegExp(`^VERIFIED: task ${taskId}, ${stored.entries.length} entries`),
    );
  });
});

describe('steward audit verify', () => {
  test('an exported file: VERIFIED, signed by the trusted key, complete, and matching the history', async () => {
    const { code, stdout, stderr } = await steward(['verify', exported], trusting());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const head = headOf(lines);
    expect(stdout).toContain(`VERIFIED: task ${taskId}, ${lines.length - 1} entries`);
    expect(stdout).toContain(
      `signed head at entry ${head.seq} by key ${harness.auditKey.keyId} (fingerprint ${keyFingerprint(harness.auditKey.publicKey)}), at task completed, ${head.signedAt}`,
    );
    expect(stdout).toContain('chain: every hash and link holds');
    expect(stdout).toContain('complete: it ends with the end of the task');
    expect(stdout).toMatch(/history: all \d+ activities match the trail/);
  });

  test('a task id: the stored trail and its history agree; --rebuild replays every run and gets the same trail', async () => {
    const plain = await steward(['verify', taskId], trusting());
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^VERIFIED: task ${taskId}`));
    expect(plain.stdout).toMatch(/history: all (\d+) activities match the trail/);
    expect(Number(/all (\d+) activities/.exec(plain.stdout)![1])).toBeGreaterThanOrEqual(5);

    const rebuilt = await steward(['verify', taskId, '--rebuild'], trusting());
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/^VERIFIED/);
    expect(rebuilt.stdout).toContain('note: rebuilt by replaying its history: identical, entry for entry');

    const json = await steward(['verify', taskId, '--json'], trusting());
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      complete: true,
      taskId,
      history: { ok: true },
    });
  });

  test('the signed head checks out with openssl alone: the canonical message, the PEM key, the base64 signature', () => {
    const head = headOf(lines);
    const dir = join(harness.dir, 'openssl');
    execFileSync('mkdir', ['-p', dir]);
    // written by hand, as a third party would from docs/audit.md: keys in order, no spaces
    const message = `{"hash":"${head.hash}","reason":${JSON.stringify(head.reason)},"seq":${head.seq},"signedAt":"${head.signedAt}","steward":"audit-head/v2","taskId":${JSON.stringify(taskId)}}`;
    expect(message).toBe(headMessage(taskId, head));
    writeFileSync(join(dir, 'message'), message);
    writeFileSync(join(dir, 'pub.pem'), head.publicKeyPem);
    writeFileSync(join(dir, 'sig.bin'), Buffer.from(head.signature, 'base64'));
    const verify = (messageFile: string) =>
      spawnSync(
        'openssl',
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          'pub.pem',
          '-rawin',
          '-in',
          messageFile,
          '-sigfile',
          'sig.bin',
        ],
        { cwd: dir, encoding: 'utf8' },
      );
    const good = verify('message');
    expect({ status: good.status, out: good.stdout.trim() }).toEqual({
      status: 0,
      out: 'Signature Verified Successfully',
    });
    // the key in the PEM is the key the verifier trusts
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', 'pub.pem', '-outform', 'DER'], {
      cwd: dir,
    });
    expect(der.subarray(-32).toString('hex')).toBe(harness.auditKey.publicKey);
    // and a head claiming one more entry does not
    writeFileSync(join(dir, 'forged'), message.replace(`"seq":${head.seq}`, `"seq":${head.seq + 1}`));
    const forged = verify('forged');
    expect(forged.status).not.toBe(0);
    expect(forged.stdout).toContain('Signature Verification Failure');
    // nor one whose reason was edited: the reason is signed too
    writeFileSync(join(dir, 'reworded'), message.replace(head.reason, 'approval granted: approval-1'));
    expect(verify('reworded').status).not.toBe(0);
  });
});

describe('a tampered export is refused, naming the first bad entry and why', () => {
  const other = (() => {
    const privateKey = ed25519.utils.randomPrivateKey();
    const publicKey = publicKeyOf(privateKey);
    return { keyId: `mallory-${keyFingerprint(publicKey)}`, publicKey, privateKey };
  })();

  /** The export with `change` applied to its lines (entries, then the head), written to a copy. */
  function tampered(name: string, change: (entries: string[], head: SignedHead) => string[]): string {
    const file = join(harness.dir, `tampered-${name}.jsonl`);
    writeFileSync(file, `${change(lines.slice(0, -1), headOf(lines)).join('\n')}\n`);
    return file;
  }
  const line = (head: SignedHead) => JSON.stringify(head);
  const resigned = (head: SignedHead, key: typeof other) =>
    signHead(key, head.taskId, head, head.reason, head.signedAt);

  // the reasons are made once the export exists (its length is known only then)
  const last = (): number => lines.length - 1;
  const cases: Array<[string, (entries: string[], head: SignedHead) => string[], () => RegExp]> = [
    [
      'one bit flipped inside entry 3',
      (entries, head) => {
        const bytes = Buffer.from(entries[2]!);
        const at = bytes.indexOf('"at":"') + 9; // the year's last digit: still a valid timestamp and JSON
        bytes[at] ^= 0x01;
        return [...entries.slice(0, 2), bytes.toString(), ...entries.slice(3), line(head)];
      },
      () => /broken at entry 3: hash does not match its content/,
    ],
    [
      'entry 4 dropped',
      (entries, head) => [...entries.filter((_, i) => i !== 3), line(head)],
      () => /broken at entry 5: entry 4 is missing or out of place \(found entry 5\)/,
    ],
    [
      'entries 4 and 5 swapped',
      (entries, head) => [...entries.slice(0, 3), entries[4]!, entries[3]!, ...entries.slice(5), line(head)],
      () => /broken at entry 5: entry 4 is missing or out of place \(found entry 5\)/,
    ],
    [
      'the last two entries and the head dropped',
      (entries) => entries.slice(0, -2),
      () => new RegExp(`broken at entry ${last() - 2}: no signed head covers the trail`),
    ],
    [
      'the last two entries dropped, the head kept',
      (entries, head) => [...entries.slice(0, -2), line(head)],
      () =>
        new RegExp(
          `broken at entry ${last()}: the head signed at entry ${last()} is past the trail's end \\(${last() - 2} entries\\): entries were dropped`,
        ),
    ],
    [
      'entry 3 rewritten and every hash after it recomputed',
      (entries, head) => {
        const chain = entries.map((l) => JSON.parse(l) as AuditEntry);
        chain[2]!.at = chain[2]!.at.replace(/^\d{4}/, '1999');
        for (let i = 2; i < chain.length; i++) {
          chain[i]!.prevHash = chain[i - 1]!.hash;
          chain[i]!.hash = hashEntry(chain[i]!);
        }
        return [...chain.map((e) => JSON.stringify(e)), line(head)];
      },
      () => new RegExp(`broken at entry ${last()}: the signed head does not match this entry’s hash`),
    ],
    [
      'the signature replaced by a genuine one over another head',
      (entries, head) => {
        const earlier = JSON.parse(entries.at(-2)!) as AuditEntry;
        const real = signHead(harness.auditKey, head.taskId, earlier, head.reason, head.signedAt);
        return [...entries, line({ ...head, signature: real.signature })];
      },
      () =>
        new RegExp(`broken at entry ${last()}: the head's signature: the signature does not match the head`),
    ],
    [
      "the head's reason edited",
      (entries, head) => [...entries, line({ ...head, reason: 'approval granted: approval-1' })],
      () =>
        new RegExp(`broken at entry ${last()}: the head's signature: the signature does not match the head`),
    ],
    [
      'the head re-signed with another key, the old public key kept',
      (entries, head) => [...entries, line({ ...head, signature: resigned(head, other).signature })],
      () =>
        new RegExp(`broken at entry ${last()}: the head's signature: the signature does not match the head`),
    ],
    [
      'the head re-signed with another key, its public key put in',
      (entries, head) => [...entries, line(resigned(head, other))],
      () =>
        new RegExp(
          `broken at entry ${last()}: the head is signed by key ${keyFingerprint(other.publicKey)}, which is not trusted`,
        ),
    ],
  ];

  test.each(cases)('%s', async (name, change, expected) => {
    const reason = expected();
    const file = tampered(name.replace(/\W+/g, '-'), change);
    const { code, stdout, stderr } = await steward(['verify', file], trusting());
    expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
    expect(stdout).toMatch(new RegExp(`^NOT VERIFIED: task ${taskId}`));
    expect(stdout).toMatch(reason);
    // the library says the same as the command
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    const heads = text.map((l) => JSON.parse(l) as SignedHead).filter((x) => x.type === 'head');
    const verdict = verifyTrail({
      taskId,
      entries: entriesOf(text),
      heads,
      trusted: [{ id: harness.auditKey.keyId, publicKey: harness.auditKey.publicKey }],
    });
    expect(verdict.ok).toBe(false);
    expect(`broken at entry ${verdict.firstBad!.seq}: ${verdict.firstBad!.reason}`).toMatch(reason);
  });

  test('a head signed by a key this install does not trust is refused; --key (a PEM file or hex) trusts it', async () => {
    const refused = await steward(['verify', exported], untrusting());
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^NOT VERIFIED/);
    expect(refused.stdout).toContain(
      `the head is signed by key ${keyFingerprint(harness.auditKey.publicKey)}, which is not trusted (trust it with --key or signing.auditKeys)`,
    );
    const pem = join(harness.dir, 'audit-key.pem');
    writeFileSync(pem, headOf(lines).publicKeyPem);
    for (const key of [pem, harness.auditKey.publicKey]) {
      const trusted = await steward(['verify', exported, '--key', key], untrusting());
      expect(trusted.code).toBe(0);
      expect(trusted.stdout).toMatch(/^VERIFIED/);
    }
  });
});

describe('bad inputs get one clear line', () => {
  test('a file that is not there, a line that is not JSON, a task nobody knows, a key that is no key', async () => {
    const missing = join(harness.dir, 'nowhere', 'trail.jsonl');
    const noFile = await steward(['verify', missing], trusting());
    expect(noFile.code).toBe(1);
    expect(noFile.stdout).toBe('');
    expect(noFile.stderr.split('\n')[0]).toBe(`steward: no file ${missing}, and no task of that id`);

    const broken = join(harness.dir, 'broken.jsonl');
    writeFileSync(broken, `${lines[0]}\nthis is not json\n${lines.slice(1).join('\n')}\n`);
    const notJson = await steward(['verify', broken], trusting());
    expect(notJson.code).toBe(1);
    expect(notJson.stderr.split('\n')[0]).toBe(`steward: ${broken}:2 is not JSON`);

    for (const action of ['show', 'export', 'verify']) {
      const unknown = await steward([action, 'no-such-task-here'], trusting());
      expect(unknown.code).toBe(1);
      expect(unknown.stdout).toBe('');
      expect(unknown.stderr.split('\n')[0]).toBe('steward: no audit trail for task no-such-task-here');
    }

    const badKey = await steward(['verify', exported, '--key', 'not-a-key'], trusting());
    expect(badKey.code).toBe(1);
    expect(badKey.stderr.split('\n')[0]).toBe('steward: --key not-a-key is not an Ed25519 public key');
  });
});

describe('no secret in the trail', () => {
  const KEY_ENV = 'STEWARD_AUDIT_TEST_API_KEY';
  const secret = `sk-audit-${randomBytes(16).toString('hex')}`;
  const mock = new MockOpenAI();
  let keyed: Harness | undefined;

  afterAll(async () => {
    await keyed?.stop();
    await mock.stop();
    delete process.env[KEY_ENV];
  });

  test('a provider configured with an API key: the key is sent, and is in no stored entry, no export (plain or CloudEvents) and no head', async () => {
    await mock.start();
    process.env[KEY_ENV] = secret;
    const providers = {
      keyed: { kind: 'openai-compatible' as const, baseURL: mock.url, apiKeyEnv: KEY_ENV },
    };
    const models = [
      {
        id: 'keyed',
        provider: 'keyed',
        model: 'keyed-model',
        trust: 'public' as const,
        price: { inputPerMTok: 1, outputPerMTok: 2 },
      },
    ];
    // the providers as a worker makes them from its config: the key read from the environment
    const made = await createProviders(parseConfig({ providers, models }, 'keyed providers'));
    keyed = new Harness({
      providers: Object.fromEntries(made),
      config: { providers, models, policy: { approval: { approvers: ['alice'] } } },
    });
    await keyed.start();

    // a task that runs to its end through the keyed provider, with an approval
    keyed.writeWorkspaceFile('in.txt', 'hello');
    mock.reply(
      { tool: 'read_file', args: { path: 'in.txt' } },
      { tool: 'write_file', args: { path: 'keyed.txt', content: 'x' } },
      { tool: 'finish', args: { result: 'wrote keyed.txt' } },
    );
    const spec = keyed.spec(auditedWriter, { input: 'write keyed.txt' });
    const handle = await keyed.launch(spec);
    await eventually(async () => (await keyed!.client.state(spec.taskId)).pendingApproval, 'approval');
    await keyed.client.decide(spec.taskId, { identity: 'alice', decision: 'approve' });
    expect((await handle.result()).status).toBe('completed');
    expect(mock.requests.map((r) => r.headers.authorization)).toContain(`Bearer ${secret}`);

    // a task whose provider answers with an error that echoes the key back: the failure is audited
    mock.reply({
      status: 400,
      body: (request) =>
        JSON.stringify({ error: { message: `bad request from ${request.headers.authorization}` } }),
    });
    const failing = keyed.spec(auditedWriter, { input: 'write keyed2.txt' });
    const failed = await (await keyed.launch(failing)).result();
    expect(failed.status).toBe('stopped');

    const env = cliFor(keyed, 'keyed', true);
    const texts: Record<string, string> = {};
    for (const id of [spec.taskId, failing.taskId]) {
      const stored = await keyed.auditStore.read(id);
      expect(stored.entries.length).toBeGreaterThan(0);
      expect(stored.heads.length).toBeGreaterThan(0);
      texts[`${id}: stored`] = JSON.stringify(stored);
      for (const format of [[], ['--cloudevents']]) {
        const out = join(keyed.dir, `${id}${format.join('')}.jsonl`);
        const { code } = await steward(['export', id, '--out', out, ...format], env);
        expect(code).toBe(0);
        texts[`${id}: export ${format.join('')}`] = readFileSync(out, 'utf8');
      }
      const show = await steward(['show', id], env);
      texts[`${id}: show`] = show.stdout + show.stderr;
      const verified = await steward(['verify', id], env);
      expect(verified.code).toBe(0);
    }
    // the failure that echoed the key is in the trail, with the key scrubbed
    const failedTrail = (await keyed.auditStore.read(failing.taskId)).entries;
    expect(JSON.stringify(failedTrail)).toContain('bad request from');
    // and the files the store wrote, byte for byte
    const auditDir = join(keyed.dir, 'data', 'audit');
    for (const file of readdirSync(auditDir)) texts[file] = readFileSync(join(auditDir, file), 'utf8');
    expect(existsSync(auditDir)).toBe(true);
    const leaks = Object.entries(texts)
      .filter(([, text]) => text.includes(secret) || text.includes(secret.slice(3, 20)))
      .map(([where]) => where);
    expect(leaks).toEqual([]);
  });
});
