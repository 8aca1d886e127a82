#!/usr/bin/env node
// connector-state: look into a store, and the operator actions that go with
// it. Run `connector-state help` for usage.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import {
  CheckpointStore, FileTracker, IndexedFileTracker, RetryTracker, StateService, describeKey, openKv,
} from '../js/node.mjs';
import { __kvEncodeKey, __kvEncodeValue } from '../pkg/connector_state.js';
import { UnreadableValue, keyText, redactUrl } from '../js/kv.mjs';
import { editDistance } from '../js/text.mjs';

const USAGE = `connector-state: inspect and repair connector-state stores

usage:
  connector-state inspect <store> [--json] [--stuck-minutes N]
  connector-state release-lock <store> <lock-name> [--yes]
  connector-state forget-file <store> <prefix> <file-name> [--yes]
  connector-state requeue <store> <namespace> <item> [--yes]
  connector-state clear-checkpoint <store> <namespace> <name> [--yes]
  connector-state copy <from-store> <to-store> [--include-locks] [--into-non-empty]

<store> is a SQLite file written through Deno KV (@deno/kv, Deno.openKv), a
denokv URL (http://host:port; set DENO_KV_ACCESS_TOKEN), or a PostgreSQL or
Redis URL (postgres://…, redis://…) with --namespace NAME (default
'default') and, for PostgreSQL, --table NAME. copy takes --from-namespace,
--to-namespace, --from-table and --to-table for each side.
Actions ask before changing anything; --yes answers for you (needed when
there is no terminal to ask).`;

class UsageError extends Error {}

const HOUR = 3_600_000;
const silent = { info() {}, warn() {}, error() {}, debug() {} };

/** Flags each command takes; anything else is a usage error. */
const SERVER = ['--namespace', '--table'];
const FLAGS = {
  inspect: ['--json', '--stuck-minutes', ...SERVER],
  'release-lock': ['--yes', ...SERVER], 'forget-file': ['--yes', ...SERVER], requeue: ['--yes', ...SERVER], 'clear-checkpoint': ['--yes', ...SERVER],
  copy: ['--include-locks', '--into-non-empty', '--from-namespace', '--to-namespace', '--from-table', '--to-table'],
};
/** Flags that take a value (`--flag value` or `--flag=value`). */
const VALUED = ['--stuck-minutes', '--namespace', '--table', '--from-namespace', '--to-namespace', '--from-table', '--to-table'];

/**
 * Text from a store (or from the command line) made safe for a terminal:
 * control characters (an ESC sequence, a newline that would forge a line,
 * C1 controls, bidi overrides, line separators) are written as escapes, so
 * one record is one line and nothing rewrites the operator's screen.
 */
function safe(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g, (c) => {
    if (c === '\\') return '\\\\';
    const named = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }[c];
    return named ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** console.log of one line of text that may hold store data. */
const say = (text) => console.log(safe(text));

/** Whether `store` names a local file (not a URL, not the embedded ':memory:'). */
const isFilePath = (store) => store !== ':memory:' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(store);

/** Opens a store the way the commands name it; options only for the server stores.
 *  A file that does not exist is refused (opening would create an empty
 *  store), unless `create` (the target of a copy). */
async function openStore(store, namespace, table, { create = false } = {}) {
  if (!create && isFilePath(store) && !existsSync(store)) {
    throw new UsageError(`no store at ${store}: the file does not exist (check the path; nothing was created)`);
  }
  const server = /^(postgres(ql)?|rediss?):\/\//i.test(store);
  if (!server && (namespace !== undefined || table !== undefined)) {
    throw new UsageError('--namespace and --table are for PostgreSQL and Redis stores (postgres://…, redis://…)');
  }
  if (/^rediss?:/i.test(store) && table !== undefined) throw new UsageError('--table is for PostgreSQL stores');
  try {
    if (!server) return await openKv(store);
    return await openKv(store, /^redis/i.test(store) ? { namespace } : { namespace, table });
  } catch (e) {
    if (/^https?:/.test(store) && /\b401\b/.test(e.message)) {
      e.message += ' (set DENO_KV_ACCESS_TOKEN to the server\'s access token)';
    }
    throw e;
  }
}

function checkFlags(command, argv) {
  const allowed = [...(FLAGS[command] ?? []), '--help'];
  for (const arg of argv.filter((a) => a.startsWith('--'))) {
    const flag = arg.split('=')[0];
    if (allowed.includes(flag)) continue;
    const elsewhere = Object.entries(FLAGS).filter(([, f]) => f.includes(flag)).map(([c]) => c);
    const close = allowed.find((f) => editDistance(f, flag) <= 2);
    const hint = elsewhere.length ? ` (it belongs to ${elsewhere.join(', ')})` : close ? ` (did you mean ${close}?)` : '';
    throw new UsageError(`unknown flag ${flag} for ${command}${hint}`);
  }
}


async function main(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith('--') && !a.includes('=')));
  const values = Object.fromEntries(argv.filter((a) => a.startsWith('--') && a.includes('=')).map((a) => a.slice(2).split(/=(.*)/s).slice(0, 2)));
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    if (VALUED.includes(argv[i])) {
      if (i + 1 >= argv.length) throw new UsageError(`${argv[i]} needs a value`);
      values[argv[i].slice(2)] = argv[++i];
      flags.delete(argv[i - 1]);
      continue;
    }
    if (!argv[i].startsWith('--')) args.push(argv[i]);
  }
  const [command, store, ...rest] = args;
  if (!command || command === 'help' || flags.has('--help')) {
    console.log(USAGE);
    return 0;
  }
  const actions = { 'release-lock': 1, 'forget-file': 2, requeue: 2, 'clear-checkpoint': 2, copy: 1 };
  if (command !== 'inspect' && !(command in actions)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  checkFlags(command, argv);
  if (!store) throw new UsageError(`${command} needs a store: a SQLite file path, a denokv URL, or a postgres:// or redis:// URL`);
  if (command !== 'inspect' && rest.length !== actions[command]) throw new UsageError(`${command} takes ${actions[command] + 1} arguments`);
  // Every flag's value is checked before anything is opened.
  const minutes = values['stuck-minutes'] === undefined ? 60 : Number(values['stuck-minutes']);
  if (!(minutes > 0 && Number.isFinite(minutes))) throw new UsageError('--stuck-minutes must be a positive number');
  if (command === 'copy') return copy(store, rest[0], values, flags);
  const kv = await openStore(store, values.namespace, values.table);
  try {
    if (command === 'inspect') {
      const report = await inspect(kv, { stuckMs: minutes * 60_000 });
      // JSON escapes control characters itself; the text form goes line by line through safe().
      console.log(flags.has('--json') ? JSON.stringify(report, jsonSafe, 2) : render(report, redactUrl(store)));
      return 0;
    }
    return await act(kv, command, rest, flags.has('--yes'));
  } finally {
    await kv.close?.();
  }
}

// ---- copy ----

/** The key a copy in progress leaves in its target, so that a rerun after
 *  an interruption may go on into a target that is not empty. */
const COPY_MARK = ['cs:copy', 'in-progress'];
const BATCH_ENTRIES = 100;
const BATCH_BYTES = 400_000;

/**
 * Copies every entry the package keeps from one store to another (locks
 * only with --include-locks), in atomic batches, then lists both and
 * compares counts and a checksum of keys and values. Refuses a target with
 * entries unless --into-non-empty, or unless the entries are an
 * interrupted copy from the same source (then it goes on: writing an entry
 * again is harmless). Expiry times are not copied (Deno KV does not list
 * them): copied entries do not expire.
 */
async function copy(fromStore, toStore, values, flags) {
  const from = await openStore(fromStore, values['from-namespace'], values['from-table']);
  let to;
  try {
    to = await openStore(toStore, values['to-namespace'], values['to-table'], { create: true });
    const source = `${redactUrl(fromStore)}${values['from-namespace'] ? ` (namespace ${values['from-namespace']})` : ''}`;
    const mark = (await to.get(COPY_MARK)).value;
    // A leftover mark lets a copy go on only when everything in the target
    // came from this source: every entry but the mark is in the source with
    // the same value. A matching name alone is not the source's identity.
    const resuming = mark?.source === source && !flags.has('--into-non-empty') && (await onlyFrom(from, to));
    if (!resuming && !flags.has('--into-non-empty')) {
      for await (const _ of to.list({ prefix: [] }, { limit: 1 })) {
        throw Object.assign(new Error(`the target ${redactUrl(toStore)} is not empty${mark?.source === source ? ' (it holds entries that are not in the source: not just an interrupted copy)' : ''}: add --into-non-empty to copy into it anyway`), { code: 'TARGET_NOT_EMPTY' });
      }
    }
    if (resuming) console.error(safe(`going on with the interrupted copy from ${source} (started ${mark.startedAt})`));
    await to.set(COPY_MARK, { source, startedAt: (resuming && mark?.startedAt) || new Date().toISOString() });
    const includeLocks = flags.has('--include-locks');
    const wanted = (key, value) => !(key.length === 2 && key[0] === COPY_MARK[0]) && (includeLocks || describeKey(key, value)?.kind !== 'lock');
    let batch = [];
    let bytes = 0;
    let copied = 0;
    let skipped = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const op = to.atomic();
      for (const [key, value] of batch) op.set(key, value);
      const res = await op.commit();
      if (!res.ok) throw new Error('a batch of the copy was refused by the target');
      copied += batch.length;
      if (Math.floor(copied / 1000) !== Math.floor((copied - batch.length) / 1000)) console.error(`copied ${copied} entries…`);
      batch = [];
      bytes = 0;
    };
    const sourceSum = checksum();
    // The source's keys: the target is checked against them, all of them,
    // with or without --into-non-empty (other entries of the target aside).
    const sourceKeys = new Set();
    for await (const { key, value } of from.list({ prefix: [] })) {
      if (value instanceof UnreadableValue) {
        throw Object.assign(new Error(`the source entry ${keyText(key)} cannot be read (${value.problem}): delete or repair it, then copy again`), { code: 'CORRUPT_STATE' });
      }
      if (!wanted(key, value)) {
        skipped += 1;
        continue;
      }
      sourceSum.add(key, value);
      sourceKeys.add(Buffer.from(__kvEncodeKey(key, 'read')).toString('hex'));
      const size = __kvEncodeKey(key, 'write').length + __kvEncodeValue(value).length;
      if (batch.length >= BATCH_ENTRIES || bytes + size > BATCH_BYTES) await flush();
      batch.push([key, value]);
      bytes += size;
    }
    await flush();
    // Verify: the target holds every copied entry with the same value (in
    // key order, so the checksums compare), whatever else it holds.
    const targetSum = checksum();
    let others = 0;
    for await (const { key, value } of to.list({ prefix: [] })) {
      if (!wanted(key, value)) continue;
      if (!sourceKeys.has(Buffer.from(__kvEncodeKey(key, 'read')).toString('hex'))) {
        others += 1;
        continue;
      }
      targetSum.add(key, value instanceof UnreadableValue ? null : value);
    }
    const a = sourceSum.done();
    const b = targetSum.done();
    const exact = a.count === b.count && a.digest === b.digest;
    if (!exact) {
      throw Object.assign(new Error(`verification failed: the source has ${a.count} entries (checksum ${a.digest.slice(0, 16)}), the target ${b.count} (${b.digest.slice(0, 16)}). Did the source change during the copy? Stop its workers and run copy again.`), { code: 'COPY_NOT_VERIFIED' });
    }
    await to.delete(COPY_MARK);
    say(`copied ${copied} entries from ${source} to ${redactUrl(toStore)}${skipped ? ` (${skipped} left out: locks${includeLocks ? '' : ' (add --include-locks to copy them)'})` : ''}; verified: ${a.count} entries, checksum ${a.digest.slice(0, 16)}${others ? ` (the target holds ${others} other entries too)` : ''}`);
    return 0;
  } finally {
    await from.close?.();
    await to?.close?.();
  }
}

/** Whether every entry of `to` (but the copy mark) is in `from` with the
 *  same value (the same encoding). */
async function onlyFrom(from, to) {
  for await (const { key, value } of to.list({ prefix: [] })) {
    if (key.length === 2 && key[0] === COPY_MARK[0]) continue;
    if (value instanceof UnreadableValue) return false;
    const there = await from.get(key);
    if (there.versionstamp === null || there.value instanceof UnreadableValue) return false;
    if (Buffer.compare(Buffer.from(__kvEncodeValue(value)), Buffer.from(__kvEncodeValue(there.value))) !== 0) return false;
  }
  return true;
}

/** Count and SHA-256 of entries in key order: each key's and value's
 *  encoding, length-prefixed. */
function checksum() {
  const hash = createHash('sha256');
  let count = 0;
  const part = (bytes) => {
    hash.update(String(bytes.length));
    hash.update(':');
    hash.update(bytes);
  };
  return {
    add(key, value) {
      count += 1;
      part(__kvEncodeKey(key, 'read'));
      part(__kvEncodeValue(value));
    },
    done: () => ({ count, digest: hash.digest('hex') }),
  };
}

// ---- inspect ----

const ms = (iso) => (typeof iso === 'string' ? Date.parse(iso) : NaN);

/** Reads every entry once and sorts it into what the package keeps. */
async function inspect(kv, { stuckMs = HOUR, now = Date.now() } = {}) {
  const report = { at: new Date(now).toISOString(), locks: [], files: [], checkpoints: [], retries: [], jobs: { byStatus: {}, stuck: [] }, syncStates: [], unreadable: [], other: 0 };
  const fileGroups = new Map();
  const group = (kind, name) => {
    const id = `${kind}\u0000${name}`;
    if (!fileGroups.has(id)) fileGroups.set(id, { kind, name, count: 0, inProgress: 0, oldest: null, newest: null });
    return fileGroups.get(id);
  };
  const addFile = (g, fileName, processedAt) => {
    g.count += 1;
    const t = ms(processedAt);
    if (Number.isNaN(t)) return;
    if (!g.oldest || t < ms(g.oldest.processedAt)) g.oldest = { fileName, processedAt };
    if (!g.newest || t > ms(g.newest.processedAt)) g.newest = { fileName, processedAt };
  };
  const retryGroups = new Map();
  for await (const { key, value } of kv.list({ prefix: [] })) {
    if (value instanceof UnreadableValue) {
      report.unreadable.push({ key: keyText(key), problem: value.problem });
      continue;
    }
    // The package's own key layout says what each entry is; nothing here parses key strings.
    const d = describeKey(key, value, now);
    switch (d?.kind) {
      case 'lock':
        report.locks.push({
          name: d.name, holder: d.holder ?? null, lockedAt: d.lockedAt ?? null, expiresAt: d.expiresAt ?? null,
          ageMs: d.ageMs ?? null, held: d.held === true, stale: d.stale === true, fencingToken: d.fencingToken ?? null,
        });
        break;
      case 'state-file':
        addFile(group('StateService', d.workflowId), d.fileName, value?.processedAt);
        break;
      case 'tracked-file':
        addFile(group('FileTracker', d.prefix), value?.fileName ?? d.fileName, value?.processedAt);
        break;
      case 'file-claim':
        if (ms(value?.expiresAt) > now) group('FileTracker', d.prefix).inProgress += 1;
        break;
      case 'indexed-file':
        addFile(group('IndexedFileTracker', d.prefix), d.fileName, value?.processedAt);
        break;
      case 'retry-item': {
        if (!retryGroups.has(d.namespace)) retryGroups.set(d.namespace, { namespace: d.namespace, waiting: 0, due: 0, exhausted: 0, items: [] });
        const g = retryGroups.get(d.namespace);
        const due = value?.status === 'waiting' && ms(value?.nextRetryAt) <= now;
        if (value?.status === 'exhausted') g.exhausted += 1;
        else g.waiting += 1;
        if (due) g.due += 1;
        g.items.push({ item: d.item, status: value?.status ?? 'unknown', attempts: value?.attempts ?? null, nextRetryAt: value?.nextRetryAt ?? null, due, lastError: value?.lastError ?? null });
        break;
      }
      case 'checkpoint':
        report.checkpoints.push(await checkpoint(kv, d.namespace, d.name, value, now));
        break;
      case 'job': {
        const status = value?.status ?? 'unknown';
        report.jobs.byStatus[status] = (report.jobs.byStatus[status] ?? 0) + 1;
        const updated = ms(value?.updatedAt ?? value?.startedAt ?? value?.createdAt);
        if (status === 'processing' && now - updated > stuckMs) report.jobs.stuck.push({ jobId: d.jobId, stage: value?.stage ?? null, updatedAt: value?.updatedAt ?? null, idleMs: now - updated });
        break;
      }
      case 'sync-state':
        if (d.workflowId !== null) report.syncStates.push({ workflowId: d.workflowId, ...value });
        break;
      case undefined:
        report.other += 1;
        break;
      default:
        // The package's bookkeeping: metrics, daily jobs, mirrors, index pages, chunks.
        break;
    }
  }
  report.files = [...fileGroups.values()];
  report.retries = [...retryGroups.values()];
  return report;
}

/** A checkpoint's manifest, checked by loading it with the version it was saved under. */
async function checkpoint(kv, namespace, name, manifest, now) {
  const out = { namespace, name, version: manifest?.version ?? null, savedAt: manifest?.savedAt ?? null, bytes: manifest?.bytes ?? null, chunks: manifest?.chunks ?? 0, progress: manifest?.progress ?? null };
  out.ageMs = Number.isNaN(ms(out.savedAt)) ? null : now - ms(out.savedAt);
  try {
    const version = typeof out.version === 'number' || typeof out.version === 'string' ? out.version : 1;
    const loaded = await new CheckpointStore(kv, { namespace, log: silent }).open(name, { version }).load();
    out.valid = loaded.found;
    out.problem = loaded.found ? null : loaded.error?.message ?? loaded.reason;
  } catch (e) {
    // The store failing is not a verdict on the checkpoint: report it as the failure it is.
    if (e.code === 'STORE_UNAVAILABLE') throw e;
    out.valid = false;
    out.problem = e.message;
  }
  return out;
}

const age = (msValue) => {
  if (msValue === null || msValue === undefined) return '?';
  const s = Math.round(Math.abs(msValue) / 1000);
  const text = s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return msValue < 0 ? `in ${text}` : text;
};

/** JSON.stringify's replacer for a report: bigints as strings. */
function jsonSafe(_, value) {
  return typeof value === 'bigint' ? value.toString() : value;
}

function render(r, store) {
  const out = [`store ${store} at ${r.at}`, ''];
  out.push(`Locks (${r.locks.length})`);
  for (const l of r.locks) {
    const state = l.held ? 'HELD' : l.stale ? 'STALE (expired; the next acquirer takes it)' : 'free';
    out.push(`  ${l.name}: ${state}${l.holder ? `, by ${l.holder}` : ''}${l.ageMs !== null && (l.held || l.stale) ? `, age ${age(l.ageMs)}` : ''}${l.expiresAt && (l.held || l.stale) ? `, expires ${l.expiresAt}` : ''}${l.fencingToken !== null ? `, token ${l.fencingToken}` : ''}`);
  }
  out.push('', `Tracked files (${r.files.reduce((n, g) => n + g.count, 0)})`);
  for (const g of r.files) {
    out.push(`  ${g.kind} ${JSON.stringify(g.name)}: ${g.count} files${g.inProgress ? `, ${g.inProgress} in progress` : ''}${g.newest ? `, newest ${g.newest.fileName} (${g.newest.processedAt})` : ''}${g.oldest ? `, oldest ${g.oldest.fileName} (${g.oldest.processedAt})` : ''}`);
  }
  out.push('', `Checkpoints (${r.checkpoints.length})`);
  for (const c of r.checkpoints) {
    out.push(`  ${c.namespace}/${c.name}: ${c.valid ? 'valid' : `NOT VALID: ${c.problem}`}, version ${JSON.stringify(c.version)}, saved ${age(c.ageMs)} ago, ${c.bytes ?? '?'} bytes${c.chunks ? ` in ${c.chunks} chunks` : ''}${c.progress ? `, progress ${JSON.stringify(c.progress)}` : ''}`);
  }
  out.push('', `Retries (${r.retries.reduce((n, g) => n + g.items.length, 0)})`);
  for (const g of r.retries) {
    out.push(`  ${g.namespace}: ${g.waiting} waiting (${g.due} due now), ${g.exhausted} exhausted`);
    for (const i of g.items.filter((x) => x.status === 'exhausted' || x.due).slice(0, 20)) {
      out.push(`    ${i.status === 'exhausted' ? 'dead letter' : 'due'}: ${i.item} after ${i.attempts} attempts (${i.lastError})`);
    }
  }
  const statuses = Object.entries(r.jobs.byStatus);
  out.push('', `Jobs (${statuses.reduce((n, [, c]) => n + c, 0)})${statuses.length ? `: ${statuses.map(([s, c]) => `${c} ${s}`).join(', ')}` : ''}`);
  for (const j of r.jobs.stuck) out.push(`  STUCK: ${j.jobId} processing${j.stage ? ` (${j.stage})` : ''}, no update for ${age(j.idleMs)}`);
  if (r.syncStates.length) {
    out.push('', 'Sync state');
    for (const s of r.syncStates) out.push(`  ${s.workflowId}: last file ${s.lastProcessedFile ?? '-'}, last modified ${s.lastProcessedTimestamp ?? '-'}, ${s.lastSyncResult ?? '-'}`);
  }
  if (r.unreadable.length) {
    out.push('', `Unreadable entries (${r.unreadable.length}): their values cannot be decoded`);
    for (const u of r.unreadable.slice(0, 50)) out.push(`  ${u.key}: ${u.problem}`);
  }
  if (r.other) out.push('', `${r.other} other entries (not written by connector-state)`);
  // One pushed item is one line: what a store holds cannot add lines or escapes.
  return out.map(safe).join('\n');
}

// ---- actions ----

async function confirm(question, yes) {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for confirmation: add --yes to go ahead');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${safe(question)} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function act(kv, command, args, yes) {
  const quiet = silent;
  if (command === 'release-lock') {
    const [name] = args;
    const state = new StateService(quiet);
    const info = await state.getLockInfo(name, kv);
    if (!info?.isLocked) { say(`lock ${JSON.stringify(name)} is not locked: nothing to do`); return 0; }
    if (!(await confirm(`Force-release lock ${JSON.stringify(name)}${info.holder ? ` held by ${info.holder}` : ''}${info.held ? ` (still live until ${info.expiresAt})` : ' (stale)'}?`, yes))) return cancelled();
    await state.forceReleaseLock(name, kv);
    say(`released lock ${JSON.stringify(name)}`);
    return 0;
  }
  if (command === 'forget-file') {
    const [prefix, name] = args;
    const files = new FileTracker(kv, { prefix });
    const indexed = new IndexedFileTracker(kv, { prefix, log: quiet });
    // Whether there is a record, without reading it: a damaged one is forgotten too.
    const inFiles = await files.isProcessed(name);
    const inIndexed = await indexed.isProcessed(name);
    if (!inFiles && !inIndexed) { say(`no record of ${JSON.stringify(name)} under prefix ${JSON.stringify(prefix)}: nothing to do`); return 0; }
    if (!(await confirm(`Forget ${JSON.stringify(name)} under ${JSON.stringify(prefix)}? The next run will process it again.`, yes))) return cancelled();
    if (inFiles) await files.forget(name);
    if (inIndexed) await indexed.remove(name);
    say(`forgot ${JSON.stringify(name)} (${[inFiles && 'FileTracker', inIndexed && 'IndexedFileTracker'].filter(Boolean).join(' and ')})`);
    return 0;
  }
  if (command === 'requeue') {
    const [namespace, item] = args;
    const retries = new RetryTracker(kv, { namespace, log: quiet });
    const current = await retries.get(item);
    if (!current) { say(`no retry state for ${JSON.stringify(item)} in ${JSON.stringify(namespace)}: nothing to do`); return 0; }
    if (!(await confirm(`Requeue ${JSON.stringify(item)} (${current.status}, ${current.attempts} attempts, last error: ${current.lastError})?`, yes))) return cancelled();
    await retries.requeue(item);
    say(`requeued ${JSON.stringify(item)}: it is due now`);
    return 0;
  }
  const [namespace, name] = args;
  const checkpoint = new CheckpointStore(kv, { namespace, log: quiet }).open(name);
  if ((await checkpoint.load()).reason === 'missing') { say(`no checkpoint ${namespace}/${name}: nothing to do`); return 0; }
  if (!(await confirm(`Clear checkpoint ${namespace}/${name}? The next run starts from the beginning.`, yes))) return cancelled();
  await checkpoint.clear();
  say(`cleared checkpoint ${namespace}/${name}`);
  return 0;
}

function cancelled() {
  say('cancelled: nothing changed');
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => {
    if (e instanceof UsageError) {
      console.error(`connector-state: ${safe(e.message)}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(safe(`connector-state: ${e.code ? `${e.code}: ` : ''}${e.message}`));
      process.exitCode = 1;
    }
  },
);
