/**
 * `npm run bench:audit [-- verify | steps] [--key=value …]`: what the audit trail costs (issue 12,
 * "Measure"). See bench/README.md, section "Audit".
 *
 * verify: realistic schema-1 chains of 10,000 and 100,000 entries (the kinds and fields the workflow
 *   writes), written as JSON Lines with a signed head last, as `steward audit export` writes them; then
 *   reading + parsing, `verifyAudit` (with @noble/hashes, as in workflow code, and with node:crypto's
 *   sha256), and one head signature check, on one core (this process's CPU time from /proc).
 * steps: one tuned dev server, two Steward worker processes that differ only in `stores.audit`: one
 *   exports to files (`local`), one does not (`none`, tasks resolved with `auditExport: false`). The
 *   same tasks run on both, interleaved, one at a time: 10 read steps then finish, and one write that
 *   waits for an approval. Latency per task, added ms per step, worker and server CPU per step.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { canonicalJson } from '../src/audit/canonicalJson';
import {
  appendAudit,
  GENESIS,
  verifyAudit,
  type AuditEntry,
  type AuditEvent,
  type ChainHead,
} from '../src/audit/chain';
import { gitHead, writeReport } from './report';
import { prng } from '../test/support/prng';
import { checkHeadSignature, signHead, type SignedHead } from '../src/audit/head';
import { sha256Hex } from '../src/audit/sha256';
import { keyFingerprint, publicKeyOf } from '../src/audit/signing';
import { startDevServer } from '../src/runtime/devServer';
import { nodeSha256Hex } from '../src/runtime/sha256';
import { ensureTemporalCli } from '../src/runtime/temporalCli';
import { StewardClient } from '../src/runtime/client';
import { FileAuditStore } from '../src/stores/auditStore';
import { ensureInstallKey } from '../src/stores/keys';
import { AGENT_LONG, LONG_STEPS, STEPS_PER_TASK } from './agents';
import {
  bundleCode,
  mapValues,
  percentile,
  round,
  type Side,
  spread,
  stewardSide,
  waitParked,
  WorkerChild,
} from './driver';
import { cpuBetween, loadAverage, snapshot, type CpuUse } from './procStats';

// ---- options ---------------------------------------------------------------------------------------

const PARTS = ['verify', 'steps'] as const;
type Part = (typeof PARTS)[number];

const DEFAULTS = {
  /** Chain sizes for the verification part (comma-separated). */
  sizes: '10000,100000',
  /** Timed passes over each chain (the median and the best are reported). */
  verifyReps: 3,
  /** Tasks of 10 read steps per side. */
  stepsReps: 60,
  /** Tasks with one approval per side. */
  approvalReps: 40,
  /** Tasks of 150 read steps per side (their trail is also exported in a batch of 256); 0 skips. */
  longReps: 6,
  /** Untimed tasks per side first. */
  warm: 3,
};
type Options = typeof DEFAULTS & { parts: Part[] };

function parseArgs(argv: string[]): Options {
  const options: Options = { ...DEFAULTS, parts: [] };
  for (const arg of argv) {
    if ((PARTS as readonly string[]).includes(arg)) {
      options.parts.push(arg as Part);
      continue;
    }
    const match = arg.match(/^--([a-zA-Z0-9]+)=(.*)$/);
    if (!match || !(match[1]! in DEFAULTS))
      throw new Error(
        `unknown argument ${arg}; give parts (${PARTS.join(' ')}) and --key=value for ${Object.keys(DEFAULTS).join(', ')}`,
      );
    const key = match[1] as keyof typeof DEFAULTS;
    if (key === 'sizes') {
      if (!/^\d+(,\d+)*$/.test(match[2]!)) throw new Error(`${arg}: expected sizes like 10000,100000`);
      options.sizes = match[2]!;
    } else {
      const value = Number(match[2]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg}: expected a whole number ≥ 0`);
      options[key] = value;
    }
  }
  if (options.parts.length === 0) options.parts = [...PARTS];
  return options;
}

// ---- realistic chains ------------------------------------------------------------------------------

const TOOLS = ['read_file', 'search_web', 'list_dir', 'http_get', 'write_file'];
const MODELS = [
  { route: 'openai-mini', provider: 'openai', model: 'gpt-4o-mini', response: 'gpt-4o-mini-2024-07-18' },
  { route: 'local-llama', provider: 'ollama', model: 'llama3.1:8b', response: 'llama3.1:8b' },
];
const AGENT = { agent: 'researcher', principal: 'zoë.müller@example.com' };

/**
 * A task's trail as the workflow writes it (src/workflows: agentRun, modelStep, action, approvalStep,
 * taskContext): task.started, then per step model.called, action.proposed, policy.decided and
 * tool.completed (a few steps fail, a few writes wait for a signed approval), task.continued every
 * 400 entries, task.completed last. Hashed with appendAudit, so the chain is valid.
 */
export function buildChain(taskId: string, size: number, seed = 12): AuditEntry[] {
  const rand = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const digest = (): string => sha256Hex(String(rand()));
  const policyHash = sha256Hex('policy');
  const entries: AuditEntry[] = [];
  let head: ChainHead = GENESIS;
  let step = 0;
  let ms = Date.UTC(2026, 10, 27, 9);
  const push = (kind: string, fields: Omit<AuditEvent, 'kind' | 'at' | 'step'>): void => {
    if (entries.length >= size) return;
    ms += 1 + Math.floor(rand() * 900);
    const entry = appendAudit(head, taskId, { kind, at: new Date(ms).toISOString(), step, ...fields });
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  };
  push('task.started', {
    actor: AGENT,
    data: {
      ...AGENT,
      limits: { maxSteps: 200, budgetUsd: 2, deadlineSeconds: 3600, maxDenials: 3, maxInvalidOutputs: 3 },
      models: MODELS.map((m) => m.route),
      policyHash,
      policySource: 'steward.yaml',
    },
  });
  while (entries.length < size - 1) {
    if (entries.length % 400 > 396)
      push('task.continued', { data: { run: Math.floor(entries.length / 400) + 1 } });
    step++;
    const m = pick(MODELS);
    const usage = {
      inputTokens: 800 + Math.floor(rand() * 6000),
      outputTokens: 20 + Math.floor(rand() * 400),
    };
    const costUsd = round(usage.inputTokens * 1.5e-7 + usage.outputTokens * 6e-7, 6);
    push('model.called', {
      actor: AGENT,
      action: { type: 'model', 'gen_ai.request.model': m.model, activity: 'callModel' },
      route: {
        id: m.route,
        'gen_ai.provider.name': m.provider,
        'gen_ai.request.model': m.model,
        'gen_ai.response.model': m.response,
        'gen_ai.response.id': `chatcmpl-${digest().slice(0, 29)}`,
        taskQueue: 'steward',
        worker: '48213@worker-2',
      },
      dataRef: { classes: ['internal'] },
      outcome: { ok: true, resultDigest: digest() },
      usage: {
        'gen_ai.usage.input_tokens': usage.inputTokens,
        'gen_ai.usage.output_tokens': usage.outputTokens,
      },
      cost: { usd: costUsd, basis: 'billed' },
      data: { route: m.route, provider: m.provider, model: m.response, usage, reservedUsd: 0.004, costUsd },
    });
    const tool = pick(TOOLS);
    const argsDigest = digest();
    const callId = `call_${digest().slice(0, 24)}`;
    push('action.proposed', { data: { tool, digest: argsDigest } });
    const approve = tool === 'write_file' && rand() < 0.5;
    const ruleIds = approve ? ['writes-need-approval'] : ['reads-allowed'];
    push('policy.decided', {
      actor: AGENT,
      action: { type: 'tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.id': callId, argsDigest },
      decision: { effect: approve ? 'approve' : 'allow', ruleIds, policyHash },
      data: {
        tool,
        digest: argsDigest,
        source: 'model',
        decision: approve ? 'approve' : 'allow',
        ruleIds,
        reason: approve ? 'rule writes-need-approval: write_file needs an approval' : 'rule reads-allowed',
      },
    });
    if (approve) {
      const id = `approval-${step}`;
      push('approval.requested', {
        data: {
          id,
          digest: argsDigest,
          tool,
          approvers: ['ops-lead', 'security'],
          deadline: new Date(ms + 86_400_000).toISOString(),
        },
      });
      push('approval.decided', {
        actor: { principal: AGENT.principal, approver: 'ops-lead', keyId: 'install-3f9a1c2b7d6e5a40' },
        action: { type: 'tool', 'gen_ai.tool.name': tool, argsDigest },
        decision: { effect: 'approve', ruleIds, policyHash },
        data: {
          id,
          identity: 'ops-lead',
          decision: 'approve',
          reason: 'looks right — ok to write ✓',
          digest: argsDigest,
          signature: {
            keyId: 'install-3f9a1c2b7d6e5a40',
            at: new Date(ms).toISOString(),
            sig: digest() + digest(),
          },
        },
      });
    }
    if (rand() < 0.04) {
      const message = `${tool} failed: HTTP 503 from upstream (attempt ${1 + Math.floor(rand() * 3)})`;
      push('step.failed', {
        action: { type: 'tool', activity: 'runTool' },
        outcome: { ok: false, errorType: 'ToolFailed', message },
        data: { step, route: null, error: message },
      });
      continue;
    }
    const outputDigest = digest();
    push('tool.completed', {
      action: { type: 'tool', 'gen_ai.tool.name': tool, activity: 'runTool' },
      route: { taskQueue: 'steward', worker: '48213@worker-2' },
      dataRef: { classes: ['internal'], ...(rand() < 0.2 ? { outputBlobs: [digest()] } : {}) },
      outcome: { ok: true, resultDigest: digest() },
      data: { tool, outputDigest, bytes: Math.floor(rand() * 60_000) },
    });
  }
  push('task.completed', {
    actor: AGENT,
    data: { status: 'completed', steps: step, spendUsd: 0.84, detail: 'done' },
  });
  return entries;
}

// ---- part 1: verification speed --------------------------------------------------------------------

interface Timed {
  wallMs: number;
  cpuMs: number;
}

/** Wall and this process's CPU time around fn (process.cpuUsage: all its threads, GC included). */
function timed<T>(fn: () => T): { value: T } & Timed {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const value = fn();
  const wallMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** A full collection between timed passes, when node runs with --expose-gc (the npm script does). */
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

const median = (xs: number[]) => percentile(xs, 50);

function summarise(runs: Timed[], entries: number) {
  const wall = runs.map((r) => r.wallMs);
  const cpu = runs.map((r) => r.cpuMs);
  return {
    wallMs: { median: round(median(wall)), best: round(Math.min(...wall)) },
    cpuMs: { median: round(median(cpu)), best: round(Math.min(...cpu)) },
    /** Entries per second of wall time, best pass and median pass. */
    perSecond: {
      best: Math.round(entries / (Math.min(...wall) / 1000)),
      median: Math.round(entries / (median(wall) / 1000)),
    },
    /** Entries per CPU second of this process (one core: the work is single-threaded). */
    perCpuSecond: Math.round(entries / (Math.max(median(cpu), 1) / 1000)),
  };
}

function readTrail(file: string): { entries: AuditEntry[]; head: SignedHead } {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  const parsed = lines.map((line) => JSON.parse(line) as AuditEntry | SignedHead);
  const head = parsed.pop() as SignedHead;
  return { entries: parsed as AuditEntry[], head };
}

async function verifyPart(options: Options, dir: string) {
  const privateKey = ed25519.utils.randomPrivateKey();
  const publicKey = publicKeyOf(privateKey);
  const key = { keyId: `install-${keyFingerprint(publicKey)}`, publicKey, privateKey };
  const out: Record<string, unknown>[] = [];
  for (const size of options.sizes.split(',').map(Number)) {
    const taskId = `bench-audit-${size}`;
    const built = timed(() => buildChain(taskId, size));
    const chain = built.value;
    const last = chain.at(-1)!;
    const signed = signHead(
      key,
      taskId,
      { seq: last.seq, hash: last.hash },
      'task completed',
      new Date().toISOString(),
    );
    const file = join(dir, `${taskId}.jsonl`);
    writeFileSync(file, chain.map((e) => `${JSON.stringify(e)}\n`).join('') + `${JSON.stringify(signed)}\n`);
    const bytes = statSync(file).size;
    const kinds: Record<string, number> = {};
    for (const e of chain) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    console.log(
      `  ${size} entries built and hashed in ${round(built.wallMs)} ms; ${round(bytes / 2 ** 20, 1)} MB, ${round(bytes / size)} bytes an entry`,
    );

    const parse: Timed[] = [];
    const noble: Timed[] = [];
    const node: Timed[] = [];
    let entries: AuditEntry[] = [];
    let head!: SignedHead;
    for (let r = 0; r < options.verifyReps; r++) {
      entries = [];
      collect();
      const p = timed(() => readTrail(file));
      parse.push(p);
      ({ entries, head } = p.value);
      collect();
      const n = timed(() => verifyAudit(entries, GENESIS));
      if (!n.value.ok || n.value.head !== head.hash)
        throw new Error(`verifyAudit refused the chain: ${JSON.stringify(n.value)}`);
      noble.push(n);
      collect();
      const c = timed(() => verifyAudit(entries, GENESIS, { sha256Hex: nodeSha256Hex }));
      if (!c.value.ok || c.value.head !== head.hash)
        throw new Error(`verifyAudit (node:crypto) refused the chain`);
      node.push(c);
    }
    // What a verify spends its time on: canonical JSON, and the two sha256 over the same texts
    // (CPU time, the least of `verifyReps` passes each).
    const least = (fn: () => unknown): number => {
      const runs: number[] = [];
      for (let r = 0; r < Math.max(options.verifyReps, 1); r++) {
        collect();
        runs.push(timed(fn).cpuMs);
      }
      return Math.min(...runs);
    };
    const canonCpu = least(() => {
      let chars = 0;
      for (const { hash: _hash, ...hashed } of entries) chars += canonicalJson(hashed).length;
      return chars;
    });
    // the texts made once, flat (charCodeAt flattens V8's concatenated strings), then only hashed
    const texts = entries.map(({ hash: _hash, ...hashed }) => canonicalJson(hashed));
    texts.forEach((t) => t.charCodeAt(0));
    const nobleCpu = least(() => texts.forEach((t) => sha256Hex(t)));
    const nodeCpu = least(() => texts.forEach((t) => nodeSha256Hex(t)));
    const signature = Array.from({ length: 5 }, () => timed(() => checkHeadSignature(head, publicKey)));
    const refused = signature.find((c) => c.value !== null);
    if (refused) throw new Error(`the head's signature: ${refused.value}`);
    const tampered = entries.map((e, i) => (i === Math.floor(size / 2) ? { ...e, step: e.step + 1 } : e));
    const caught = verifyAudit(tampered, GENESIS, { sha256Hex: nodeSha256Hex });
    if (caught.ok || caught.seq !== Math.floor(size / 2) + 1)
      throw new Error('a changed entry was not caught');
    const readParse = summarise(parse, size);
    const verifyNoble = summarise(noble, size);
    const verifyNode = summarise(node, size);
    out.push({
      entries: size,
      bytes,
      bytesPerEntry: round(bytes / size),
      kinds,
      readParse,
      verifyNoble,
      verifyNode,
      /** Read, parse and verify with node:crypto, best passes. */
      /** Read, parse and verify with node:crypto: per CPU second (median passes), per second (best passes). */
      endToEnd: {
        perCpuSecond: Math.round(size / ((readParse.cpuMs.median + verifyNode.cpuMs.median) / 1000)),
        perSecond: Math.round(size / ((readParse.wallMs.best + verifyNode.wallMs.best) / 1000)),
      },
      /** CPU µs an entry. */
      breakdownUs: {
        canonicalJson: round((canonCpu * 1000) / size, 2),
        sha256Noble: round((nobleCpu * 1000) / size, 2),
        sha256Node: round((nodeCpu * 1000) / size, 2),
      },
      /** Median of 5 checks (the process signed the head first, so @noble/curves' tables are built). */
      signatureCheckMs: round(median(signature.map((c) => c.wallMs)), 2),
    });
    rmSync(file);
  }
  return out;
}

// ---- part 2: the export's added time per step ------------------------------------------------------

type Mode = 'local' | 'none';
const MODES: Mode[] = ['none', 'local'];

interface Series {
  values: number[];
  /** Approval tasks: approval sent → the approved tool starts in the worker. */
  approveToTool: number[];
  use: CpuUse;
}

const ZERO: CpuUse = { wallMs: 0, serverMs: 0, workerMs: 0, clientMs: 0, otherMs: 0 };
const add = (a: CpuUse, b: CpuUse): CpuUse => ({
  wallMs: a.wallMs + b.wallMs,
  serverMs: a.serverMs + b.serverMs,
  workerMs: a.workerMs + b.workerMs,
  clientMs: a.clientMs + b.clientMs,
  otherMs: a.otherMs + b.otherMs,
});

async function stepsPart(options: Options, dir: string, log: (s: string) => void) {
  const bundlePath = join(dir, 'steward.js');
  writeFileSync(bundlePath, await bundleCode(require.resolve('../src/workflows')));
  log('bundled the workflow code');
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const dataDir = join(dir, 'steward');
  const workers: WorkerChild[] = [];
  try {
    const sides = {} as Record<Mode, Side>;
    await Promise.all(
      MODES.map(async (mode) => {
        const taskQueue = `bench-audit-${mode}`;
        const worker = await WorkerChild.start({
          kind: 'steward',
          address: server.address,
          taskQueue,
          bundlePath,
          modelUrl: 'http://127.0.0.1:9/unused',
          dataDir,
          audit: mode,
        });
        workers.push(worker);
        sides[mode] = stewardSide(client, taskQueue, worker, dataDir);
      }),
    );
    log(
      `tuned dev server (pid ${server.pid}); workers: local ${sides.local.worker.pid}, none ${sides.none.worker.pid}`,
    );
    const tag = Date.now().toString(36);

    /** One task at a time, the two sides interleaved (none, local, none, …), CPU read around each. */
    const interleave = async (
      name: string,
      reps: number,
      run: (side: Side, id: string, mode: Mode) => Promise<{ ms: number; approveToTool?: number }>,
      warm = options.warm,
    ): Promise<Record<Mode, Series & { lastId: string }>> => {
      const out = {} as Record<Mode, Series & { lastId: string }>;
      for (const mode of MODES) {
        out[mode] = { values: [], approveToTool: [], use: ZERO, lastId: '' };
        for (let w = 0; w < warm; w++) await run(sides[mode], `${name}-${mode}-${tag}-warm${w}`, mode);
      }
      for (let i = 0; i < reps; i++) {
        for (const mode of MODES) {
          const side = sides[mode];
          const id = `${name}-${mode}-${tag}-${i}`;
          const a = snapshot(server.pid, side.worker.pid);
          const r = await run(side, id, mode);
          const b = snapshot(server.pid, side.worker.pid);
          out[mode].values.push(r.ms);
          if (r.approveToTool !== undefined) out[mode].approveToTool.push(r.approveToTool);
          out[mode].use = add(out[mode].use, cpuBetween(a, b));
          out[mode].lastId = id;
        }
      }
      return out;
    };

    const steps = await interleave('steps', options.stepsReps, async (side, id) => {
      const t = performance.now();
      await side.runSteps(id);
      return { ms: performance.now() - t };
    });
    log(`steps: ${options.stepsReps} tasks a side`);
    const approval = await interleave('approval', options.approvalReps, async (side, id) => {
      const t = performance.now();
      await side.startParked(id);
      await waitParked(client, id);
      const parkedMs = performance.now() - t;
      const started = side.worker.startOf(id);
      const sent = Date.now();
      const t2 = performance.now();
      await side.approve(id);
      const at = await started;
      await side.result(id);
      return { ms: parkedMs + (performance.now() - t2), approveToTool: at - sent };
    });
    log(`approval: ${options.approvalReps} tasks a side`);
    const long = await interleave(
      'long',
      options.longReps,
      async (_side, id, mode) => {
        const steward = new StewardClient(client, `bench-audit-${mode}`, undefined);
        const t = performance.now();
        await steward.start({ agent: AGENT_LONG, principal: 'bench', taskId: id });
        const result = await steward.result(id);
        if (result.status !== 'completed') throw new Error(`${id} stopped: ${result.detail}`);
        return { ms: performance.now() - t };
      },
      options.longReps ? 1 : 0,
    );
    if (options.longReps) log(`long: ${options.longReps} tasks a side`);

    // What the exporting side wrote: one task's file, verified as `steward audit verify` would.
    const store = new FileAuditStore(join(dataDir, 'audit'));
    const installKey = ensureInstallKey(dataDir).publicKey;
    const trailOf = async (id: string) => {
      const { entries, heads } = await store.read(id);
      const head = heads.at(-1);
      const chain = verifyAudit(entries, GENESIS, { sha256Hex: nodeSha256Hex });
      return {
        entries: entries.length,
        heads: heads.length,
        headReasons: heads.map((h) => h.reason),
        bytesPerEntry: round(
          entries.reduce((n, e) => n + JSON.stringify(e).length + 1, 0) / Math.max(entries.length, 1),
        ),
        chainOk: chain.ok && head?.hash === chain.head && head.seq === entries.length,
        signatureOk: head ? checkHeadSignature(head, installKey) === null : false,
      };
    };
    const noneWrote = (await store.read(steps.none.lastId)).entries.length;
    const result = {
      steps: perTask(steps, STEPS_PER_TASK, 'a read step'),
      approval: perTask(approval, 1, 'a task (one approval)'),
      ...(options.longReps ? { long: perTask(long, LONG_STEPS, 'a read step') } : {}),
      exported: {
        steps: await trailOf(steps.local.lastId),
        approval: await trailOf(approval.local.lastId),
        ...(options.longReps ? { long: await trailOf(long.local.lastId) } : {}),
        noneSideEntriesWritten: noneWrote,
      },
    };
    const trails = [
      result.exported.steps,
      result.exported.approval,
      ...('long' in result.exported ? [result.exported.long] : []),
    ];
    if (trails.some((t) => !t?.chainOk || !t.signatureOk) || noneWrote !== 0)
      throw new Error(`the exported trails are not what they should be: ${JSON.stringify(result.exported)}`);
    return result;
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await connection.close().catch(() => undefined);
    await server.stop();
  }
}

function perTask(r: Record<Mode, Series>, stepsPerTask: number, step: string) {
  const side = (mode: Mode) => {
    const s = r[mode];
    const n = s.values.length;
    const mean = s.values.reduce((a, b) => a + b, 0) / n;
    return {
      taskMs: {
        ...mapValues(spread(s.values), (v) => round(v)),
        p95: round(percentile(s.values, 95)),
        mean: round(mean),
      },
      ...(s.approveToTool.length
        ? {
            approveToToolMs: {
              p50: round(percentile(s.approveToTool, 50)),
              p95: round(percentile(s.approveToTool, 95)),
            },
          }
        : {}),
      cpuMsPerStep: {
        worker: round(s.use.workerMs / (n * stepsPerTask), 2),
        server: round(s.use.serverMs / (n * stepsPerTask), 2),
        client: round(s.use.clientMs / (n * stepsPerTask), 2),
      },
      otherCores: round(s.use.otherMs / s.use.wallMs, 2),
    };
  };
  const none = side('none');
  const local = side('local');
  return {
    stepsPerTask,
    step,
    none,
    local,
    addedMsPerStep: {
      p50: round((local.taskMs.p50 - none.taskMs.p50) / stepsPerTask, 2),
      p95: round((local.taskMs.p95 - none.taskMs.p95) / stepsPerTask, 2),
      mean: round((local.taskMs.mean - none.taskMs.mean) / stepsPerTask, 2),
    },
    addedWorkerCpuMsPerStep: round(local.cpuMsPerStep.worker - none.cpuMsPerStep.worker, 2),
    addedServerCpuMsPerStep: round(local.cpuMsPerStep.server - none.cpuMsPerStep.server, 2),
  };
}

// ---- output ----------------------------------------------------------------------------------------

const fmt = (n: number) => n.toLocaleString('en-US');

/* eslint-disable @typescript-eslint/no-explicit-any */
function tables(results: Record<string, any>): string {
  const lines: string[] = [];
  const table = (header: string[], rows: string[][]) => {
    lines.push(...[header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`), '');
  };
  if (results.verify) {
    table(
      [
        'Entries',
        'Bytes / entry',
        'Read + parse: per CPU s (per s, best)',
        'verifyAudit, @noble/hashes: per CPU s (per s, best)',
        'verifyAudit, node:crypto: per CPU s (per s, best)',
        'Read + parse + verify (node): per CPU s (per s)',
        'CPU µs an entry: canonical JSON / noble sha256 / node sha256',
        'Head signature check',
      ],
      results.verify.map((v: any) => [
        fmt(v.entries),
        `${v.bytesPerEntry}`,
        `${fmt(v.readParse.perCpuSecond)} (${fmt(v.readParse.perSecond.best)})`,
        `**${fmt(v.verifyNoble.perCpuSecond)}** (${fmt(v.verifyNoble.perSecond.best)})`,
        `**${fmt(v.verifyNode.perCpuSecond)}** (${fmt(v.verifyNode.perSecond.best)})`,
        `${fmt(v.endToEnd.perCpuSecond)} (${fmt(v.endToEnd.perSecond)})`,
        `${v.breakdownUs.canonicalJson} / ${v.breakdownUs.sha256Noble} / ${v.breakdownUs.sha256Node}`,
        `${v.signatureCheckMs} ms`,
      ]),
    );
  }
  if (results.steps) {
    const row = (label: string, r: any, approval: boolean) => [
      label,
      `${r.none.taskMs.p50} / ${r.none.taskMs.p95} ms`,
      `${r.local.taskMs.p50} / ${r.local.taskMs.p95} ms`,
      approval ? `${r.none.approveToToolMs.p50} / ${r.local.approveToToolMs.p50} ms` : '',
      `${r.addedMsPerStep.p50} / ${r.addedMsPerStep.p95} / ${r.addedMsPerStep.mean} ms`,
      `${r.none.cpuMsPerStep.worker} / ${r.local.cpuMsPerStep.worker}`,
      `${r.none.cpuMsPerStep.server} / ${r.local.cpuMsPerStep.server}`,
      `${r.none.otherCores} / ${r.local.otherCores}`,
    ];
    const s = results.steps;
    table(
      [
        'Task (n a side)',
        'Export off: p50 / p95',
        'Export to files: p50 / p95',
        'Approval → tool starts, p50 off / on',
        'Added per step: p50 / p95 / mean',
        'Worker CPU ms/step off / on',
        'Server CPU ms/step off / on',
        'Other load, cores off / on',
      ],
      [
        row(`10 read steps + finish (${s.steps.none.taskMs.n}); step = a read step`, s.steps, false),
        row(`one write approved (${s.approval.none.taskMs.n}); step = the task`, s.approval, true),
        ...(s.long
          ? [
              row(
                `${s.long.stepsPerTask} read steps + finish (${s.long.none.taskMs.n}); step = a read step`,
                s.long,
                false,
              ),
            ]
          : []),
      ],
    );
    const e = s.exported;
    lines.push(
      `Exported (last task of each): 10 steps: ${e.steps.entries} entries, ${e.steps.heads} signed head(s) (${e.steps.headReasons.join('; ')}), ${e.steps.bytesPerEntry} bytes an entry; ` +
        `approval: ${e.approval.entries} entries, ${e.approval.heads} heads (${e.approval.headReasons.join('; ')}); ` +
        (e.long
          ? `${s.long.stepsPerTask} steps: ${e.long.entries} entries, ${e.long.heads} heads (${e.long.headReasons.join('; ')}); `
          : '') +
        `the chains and signatures verify; the export-off side wrote nothing.`,
    );
  }
  return lines.join('\n');
}
/* eslint-enable @typescript-eslint/no-explicit-any */

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = new Date();
  const loadAtStart = loadAverage();
  const log = (s: string) => console.log(`[${((Date.now() - started.getTime()) / 1000).toFixed(1)} s] ${s}`);
  log(
    `bench:audit ${options.parts.join(' ')} on ${availableParallelism()} cores, load ${loadAtStart.join(' ')}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-audit-'));
  const results: Record<string, unknown> = {};
  try {
    if (options.parts.includes('verify')) {
      log('verify: building chains');
      results.verify = await verifyPart(options, dir);
      log('verify: done');
    }
    if (options.parts.includes('steps')) results.steps = await stepsPart(options, dir, log);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAtEnd = loadAverage();
  const summary = tables(results);
  const report = {
    startedAt: started.toISOString(),
    durationS: round((Date.now() - started.getTime()) / 1000),
    command: [
      'npm run bench:audit',
      ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
    ].join(' '),
    ...gitHead(),
    node: process.version,
    machine: { cores: availableParallelism(), loadAtStart, loadAtEnd },
    options,
    results,
    table: summary,
  };
  const file = writeReport('audit-', started, report);
  console.log(`\n${summary}\n`);
  console.log(`load average ${loadAtStart.join(' ')} → ${loadAtEnd.join(' ')}; results in ${file}`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
