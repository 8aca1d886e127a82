// connector-state copy: every entry the package keeps, from one store to
// another, verified after.
import { Buffer } from 'node:buffer';
import { describeKey } from '../node.mjs';
import { redactUrl } from '../stores/server.mjs';
import { createHash } from 'node:crypto';
import { __kvEncodeKey, __kvEncodeValue } from '../../pkg/connector_state.js';
import { keyText, UnreadableValue } from '../stores/server.mjs';
import { openStore, safe, say } from './common.mjs';

// ---- copy ----

/** The key a copy in progress leaves in its target, so that a rerun after
 *  an interruption may go on into a target that is not empty. */
export const COPY_MARK = ['cs:copy', 'in-progress'];
export const BATCH_ENTRIES = 100;
export const BATCH_BYTES = 400_000;

/**
 * Copies every entry the package keeps from one store to another (locks
 * only with --include-locks), in atomic batches, then lists both and
 * compares counts and a checksum of keys and values. Refuses a target with
 * entries unless --into-non-empty, or unless the entries are an
 * interrupted copy from the same source (then it goes on: writing an entry
 * again is harmless). Expiry times are not copied (Deno KV does not list
 * them): copied entries do not expire.
 */
export async function copy(fromStore, toStore, values, flags) {
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
        throw Object.assign(
          new Error(
            `the target ${redactUrl(toStore)} is not empty${
              mark?.source === source ? ' (it holds entries that are not in the source: not just an interrupted copy)' : ''
            }: add --into-non-empty to copy into it anyway`,
          ),
          { code: 'TARGET_NOT_EMPTY' },
        );
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
      throw Object.assign(
        new Error(
          `verification failed: the source has ${a.count} entries (checksum ${a.digest.slice(0, 16)}), the target ${b.count} (${
            b.digest.slice(0, 16)
          }). Did the source change during the copy? Stop its workers and run copy again.`,
        ),
        { code: 'COPY_NOT_VERIFIED' },
      );
    }
    await to.delete(COPY_MARK);
    say(
      `copied ${copied} entries from ${source} to ${redactUrl(toStore)}${
        skipped ? ` (${skipped} left out: locks${includeLocks ? '' : ' (add --include-locks to copy them)'})` : ''
      }; verified: ${a.count} entries, checksum ${a.digest.slice(0, 16)}${others ? ` (the target holds ${others} other entries too)` : ''}`,
    );
    return 0;
  } finally {
    await from.close?.();
    await to?.close?.();
  }
}

/** Whether every entry of `to` (but the copy mark) is in `from` with the
 *  same value (the same encoding). */
export async function onlyFrom(from, to) {
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
export function checksum() {
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
