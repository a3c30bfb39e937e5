/**
 * The verification part: realistic chains written as `steward audit export` writes them, then read,
 * parsed and verified (with @noble/hashes and with node:crypto), and one head signature checked, on
 * one core (this process's CPU time).
 */
import { ed25519 } from '@noble/curves/ed25519';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../../src/audit/canonicalJson';
import { GENESIS, verifyAudit, type AuditEntry } from '../../src/audit/chain';
import { checkHeadSignature, signHead, type SignedHead } from '../../src/audit/head';
import { sha256Hex } from '../../src/audit/sha256';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { nodeSha256Hex } from '../../src/runtime/sha256';
import { percentile, round } from '../driver';
import { markdownLines, type Loose } from '../table';
import { buildChain } from './chain';
import type { Options } from './options';

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

export async function verifyPart(options: Options, dir: string) {
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

const fmt = (n: number) => n.toLocaleString('en-US');

/** The verification table's lines (and a blank line after it). */
export function verifyTable(verify: Loose): string[] {
  const lines: string[] = [];
  lines.push(
    ...markdownLines(
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
      verify.map((v: Loose) => [
        fmt(v.entries),
        `${v.bytesPerEntry}`,
        `${fmt(v.readParse.perCpuSecond)} (${fmt(v.readParse.perSecond.best)})`,
        `**${fmt(v.verifyNoble.perCpuSecond)}** (${fmt(v.verifyNoble.perSecond.best)})`,
        `**${fmt(v.verifyNode.perCpuSecond)}** (${fmt(v.verifyNode.perSecond.best)})`,
        `${fmt(v.endToEnd.perCpuSecond)} (${fmt(v.endToEnd.perSecond)})`,
        `${v.breakdownUs.canonicalJson} / ${v.breakdownUs.sha256Noble} / ${v.breakdownUs.sha256Node}`,
        `${v.signatureCheckMs} ms`,
      ]),
    ),
    '',
  );
  return lines;
}
