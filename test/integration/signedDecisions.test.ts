import { ed25519 } from '@noble/curves/ed25519';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AgentDefinition } from '../../src/agents/definition';
import { approvalToSign, publicKeyOf, signDecision } from '../../src/audit/signing';
import { StewardClient } from '../../src/runtime/client';
import { findTemporalCli } from '../../src/runtime/temporalCli';
import { approveUpdate, cancelSignal } from '../../src/workflows/messages';
import { eventually, Harness, testAddress } from '../support/harness';

const writer: AgentDefinition = {
  name: 'test-signed-writer',
  description: 'writes once approved',
  instructions: 'Write what you are asked to.',
  tools: ['write_file'],
};

const carolKey = ed25519.utils.randomPrivateKey();
const harness = new Harness({
  config: {
    policy: { approval: { approvers: ['alice', 'carol'] } },
    signing: { trustedKeys: [{ id: 'carol-laptop', publicKey: publicKeyOf(carolKey), signsFor: ['carol'] }] },
  },
});
beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => harness.mock.reset());

async function waitingTask(path: string) {
  harness.mock.reply(
    { tool: 'write_file', args: { path, content: 'x' } },
    { tool: 'finish', args: { result: `wrote ${path}` } },
  );
  const spec = harness.spec(writer, { input: `write ${path}` });
  const handle = await harness.launch(spec);
  const pending = await eventually(
    async () => (await harness.client.state(spec.taskId)).pendingApproval,
    'approval',
  );
  return { spec, handle, pending };
}

/** What the update's validator answered, from the failure of an update it refused. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return String((err as Error).cause);
}

describe('decisions that prove who made them', () => {
  test('unsigned, badly signed, untrusted, out-of-bounds and replayed decisions are refused; the task keeps waiting', async () => {
    const { spec, handle, pending } = await waitingTask('signed.txt');
    const decision = {
      approvalId: pending.id,
      digest: pending.digest,
      decision: 'approve' as const,
      identity: 'alice',
    };
    const send = (input: object) => handle.executeUpdate(approveUpdate, { args: [input as never] });
    const sign = (key: Uint8Array, keyId: string, taskId = spec.taskId, identity = 'alice') =>
      signDecision(
        key,
        keyId,
        approvalToSign(taskId, { ...decision, identity, runId: pending.runId }),
        new Date().toISOString(),
      );

    // no signature: a client without a key (anyone who can reach the Temporal frontend)
    const unsigned = new StewardClient(harness.client.client, harness.taskQueue);
    expect(await refusal(unsigned.decide(spec.taskId, { identity: 'alice', decision: 'approve' }))).toMatch(
      /not signed by a key this worker trusts; approve with `steward approve <taskId>`/,
    );
    // a signature that does not match (one digit changed)
    const good = sign(harness.signer.privateKey, harness.signer.keyId);
    const flipped = { ...good, sig: (good.sig[0] === '0' ? '1' : '0') + good.sig.slice(1) };
    expect(await refusal(send({ ...decision, signature: flipped }))).toMatch(/does not match this decision/);
    // a key the worker does not trust
    const stranger = ed25519.utils.randomPrivateKey();
    expect(await refusal(send({ ...decision, signature: sign(stranger, 'stranger') }))).toMatch(
      /key stranger is not trusted/,
    );
    // a trusted key signing for someone it may not sign for
    expect(await refusal(send({ ...decision, signature: sign(carolKey, 'carol-laptop') }))).toMatch(
      /key carol-laptop may not sign for alice/,
    );
    // a valid signature made for another task
    expect(
      await refusal(
        send({ ...decision, signature: sign(harness.signer.privateKey, harness.signer.keyId, 'other-task') }),
      ),
    ).toMatch(/does not match this decision/);
    // the temporal CLI with a typed identity
    const cli = await promisify(execFile)(findTemporalCli()!, [
      'workflow',
      'update',
      'execute',
      '--address',
      testAddress(),
      '--workflow-id',
      spec.taskId,
      '--name',
      'approve',
      '--input',
      JSON.stringify(decision),
    ]).then(
      () => '',
      (err: { stderr?: string; message: string }) => `${err.stderr ?? ''} ${err.message}`,
    );
    expect(cli).toMatch(/not signed by a key this worker trusts; approve with `steward approve <taskId>`/);

    expect((await harness.client.state(spec.taskId)).status).toBe('awaiting_approval');
    // carol's own key may sign for carol, and her approval proceeds
    const carol = sign(carolKey, 'carol-laptop', spec.taskId, 'carol');
    await send({ ...decision, identity: 'carol', signature: carol });
    expect(await handle.result()).toMatchObject({ status: 'completed', result: 'wrote signed.txt' });
    const decided = (await harness.client.audit(spec.taskId)).find((e) => e.kind === 'approval.decided')!;
    expect(decided.data).toMatchObject({
      identity: 'carol',
      signature: { keyId: 'carol-laptop', sig: carol.sig },
    });
  });

  test('a signature for one request does not carry over to the next request of the same task', async () => {
    const { spec, handle, pending } = await waitingTask('first.txt');
    await harness.client.decide(spec.taskId, { identity: 'alice', decision: 'approve' });
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    const second = await waitingTask('first.txt'); // the same call again, in another task
    const replayed = signDecision(
      harness.signer.privateKey,
      harness.signer.keyId,
      approvalToSign(spec.taskId, {
        runId: pending.runId,
        approvalId: pending.id,
        digest: pending.digest,
        decision: 'approve',
        identity: 'alice',
      }),
      new Date().toISOString(),
    );
    const input = {
      approvalId: second.pending.id,
      digest: second.pending.digest,
      decision: 'approve',
      identity: 'alice',
      signature: replayed,
    };
    expect(await refusal(second.handle.executeUpdate(approveUpdate, { args: [input as never] }))).toMatch(
      /does not match this decision/,
    );
    await harness.client.decide(second.spec.taskId, {
      identity: 'alice',
      decision: 'reject',
      reason: 'enough',
    });
    expect(await second.handle.result()).toMatchObject({ stopReason: 'approval_rejected' });
  });

  test('an unsigned cancel is refused and audited; a signed one stops the task', async () => {
    const { spec, handle } = await waitingTask('cancel.txt');
    await handle.signal(cancelSignal, { identity: 'bob', reason: 'typed' });
    await eventually(async () => {
      const audit = await harness.client.audit(spec.taskId);
      return audit.find((e) => e.kind === 'task.cancel_refused');
    }, 'refused cancel');
    expect((await harness.client.state(spec.taskId)).status).toBe('awaiting_approval');
    await harness.client.cancel(spec.taskId, 'bob', 'signed');
    expect(await handle.result()).toMatchObject({
      stopReason: 'cancelled',
      detail: 'cancelled by bob: signed',
    });
  });
});
