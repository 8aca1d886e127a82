// connector-state inspect: every entry of a store read once and sorted into
// what the package keeps, as text or JSON.
import { CheckpointStore, describeKey } from '../node.mjs';
import { keyText, UnreadableValue } from '../stores/server.mjs';
import { HOUR, safe, silent } from './common.mjs';

export const ms = (iso) => (typeof iso === 'string' ? Date.parse(iso) : NaN);

/** Reads every entry once and sorts it into what the package keeps. */
export async function inspect(kv, { stuckMs = HOUR, now = Date.now() } = {}) {
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
          name: d.name,
          holder: d.holder ?? null,
          lockedAt: d.lockedAt ?? null,
          expiresAt: d.expiresAt ?? null,
          ageMs: d.ageMs ?? null,
          held: d.held === true,
          stale: d.stale === true,
          fencingToken: d.fencingToken ?? null,
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
        // "Stuck" is the core's rule (describeKey's idleMs, as JobTracker.findStuckJobs measures it).
        if (d.status === 'processing' && d.idleMs > stuckMs) report.jobs.stuck.push({ jobId: d.jobId, stage: value?.stage ?? null, updatedAt: value?.updatedAt ?? null, idleMs: d.idleMs });
        break;
      }
      case 'sync-state':
        if (d.workflowId !== null) report.syncStates.push({ workflowId: d.workflowId, ...value });
        break;
      case 'copy-in-progress':
        report.copyInProgress = true;
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
export async function checkpoint(kv, namespace, name, manifest, now) {
  const out = {
    namespace,
    name,
    version: manifest?.version ?? null,
    savedAt: manifest?.savedAt ?? null,
    bytes: manifest?.bytes ?? null,
    chunks: manifest?.chunks ?? 0,
    progress: manifest?.progress ?? null,
  };
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

export const age = (msValue) => {
  if (msValue === null || msValue === undefined) return '?';
  const s = Math.round(Math.abs(msValue) / 1000);
  const text = s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return msValue < 0 ? `in ${text}` : text;
};

/** JSON.stringify's replacer for a report: bigints as strings. */
export function jsonSafe(_, value) {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function render(r, store) {
  const out = [`store ${store} at ${r.at}`, ''];
  out.push(`Locks (${r.locks.length})`);
  for (const l of r.locks) {
    const state = l.held ? 'HELD' : l.stale ? 'STALE (expired; the next acquirer takes it)' : 'free';
    out.push(
      `  ${l.name}: ${state}${l.holder ? `, by ${l.holder}` : ''}${l.ageMs !== null && (l.held || l.stale) ? `, age ${age(l.ageMs)}` : ''}${
        l.expiresAt && (l.held || l.stale) ? `, expires ${l.expiresAt}` : ''
      }${l.fencingToken !== null ? `, token ${l.fencingToken}` : ''}`,
    );
  }
  out.push('', `Tracked files (${r.files.reduce((n, g) => n + g.count, 0)})`);
  for (const g of r.files) {
    out.push(
      `  ${g.kind} ${JSON.stringify(g.name)}: ${g.count} files${g.inProgress ? `, ${g.inProgress} in progress` : ''}${g.newest ? `, newest ${g.newest.fileName} (${g.newest.processedAt})` : ''}${
        g.oldest ? `, oldest ${g.oldest.fileName} (${g.oldest.processedAt})` : ''
      }`,
    );
  }
  out.push('', `Checkpoints (${r.checkpoints.length})`);
  for (const c of r.checkpoints) {
    out.push(
      `  ${c.namespace}/${c.name}: ${c.valid ? 'valid' : `NOT VALID: ${c.problem}`}, version ${JSON.stringify(c.version)}, saved ${age(c.ageMs)} ago, ${c.bytes ?? '?'} bytes${
        c.chunks ? ` in ${c.chunks} chunks` : ''
      }${c.progress ? `, progress ${JSON.stringify(c.progress)}` : ''}`,
    );
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
  if (r.copyInProgress) out.push('', 'A copy into this store did not finish: run the same copy again to complete it.');
  if (r.other) out.push('', `${r.other} other entries (not written by connector-state)`);
  // One pushed item is one line: what a store holds cannot add lines or escapes.
  return out.map(safe).join('\n');
}
