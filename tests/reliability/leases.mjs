// Leases under failure: a holder process killed with SIGKILL inside its
// critical section (when does the next run take over, against the TTL?),
// and a renewing holder whose connection to the store stalls (does its
// signal abort before another process can take the lock?).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openKv } from '@deno/kv';
import { StateService } from '../../js/node.mjs';
import { stallingProxy } from '../servers.mjs';
import { openStore, sleep } from './stores.mjs';

const workerPath = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/**
 * `rounds` times: a holder process takes a renewing lease (TTL `ttlMs`),
 * is checked to keep it for two TTLs, is killed with SIGKILL, and a waiting
 * lock() in this process takes over. Reports each takeover time (kill to
 * acquisition), fencing tokens, and any acquisition while the holder lived.
 */
export async function crashTakeover({ store, dir, ttlMs = 1000, rounds = 3, variant }) {
  const kv = await openStore(store);
  const takeovers = [];
  let tokensRose = true;
  let takenWhileAlive = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const log = join(dir, `crash-${store.kind}-${round}.log`);
      writeFileSync(log, '');
      const lockName = `crash-${round}`;
      const holder = spawn(process.execPath, [workerPath, JSON.stringify({ impl: 'ours', store, task: 'hold', lockName, ttlMs, log, variant })], { stdio: 'ignore' });
      try {
        const deadline = Date.now() + 60_000;
        while (!readFileSync(log, 'utf8').includes('enter ')) {
          if (Date.now() > deadline || holder.exitCode !== null) throw new Error('the holder never took its lock');
          await sleep(20);
        }
        const token = Number(readFileSync(log, 'utf8').trim().split(' ')[2]);
        const probe = new StateService(null);
        const aliveUntil = Date.now() + 2 * ttlMs;
        while (Date.now() < aliveUntil) {
          if (await probe.acquireLock(lockName, kv, 1)) {
            takenWhileAlive += 1;
            await probe.releaseLock(lockName, kv);
          }
          await sleep(ttlMs / 10);
        }
        holder.kill('SIGKILL');
        const killedAt = Date.now();
        const next = await new StateService(null).lock(lockName, kv, { waitMs: 10 * ttlMs, ttlMs: 60_000, renew: false });
        if (!next) throw new Error('no takeover after the kill');
        takeovers.push(Date.now() - killedAt);
        if (!(next.fencingToken > token)) tokensRose = false;
        await next.release();
      } finally {
        holder.kill('SIGKILL');
      }
    }
  } finally {
    kv.close();
  }
  const sorted = takeovers.slice().sort((a, b) => a - b);
  return { ttlMs, rounds, takeovers, minMs: sorted[0], medianMs: sorted[Math.floor(sorted.length / 2)], maxMs: sorted.at(-1), tokensRose, takenWhileAlive };
}

/**
 * A renewing holder reaches a denokv server through a proxy that then
 * stalls; another client, connected directly, waits for the lock. Right:
 * the holder's signal aborts before the other gets the lock.
 */
export async function stalledHolder({ server, ttlMs = 1500, rounds = 1, variant }) {
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const proxy = await stallingProxy(server.port);
    process.env.DENO_KV_ACCESS_TOKEN = server.spec.token;
    const viaProxy = await openKv(`http://127.0.0.1:${proxy.port}`);
    const direct = await openKv(server.spec.url);
    try {
      const lockName = `stall-${round}-${Date.now()}`;
      // 'unwatched' (a negative control): a plain lock, whose holder is never told.
      const lease = variant === 'unwatched'
        ? ((await new StateService(null).acquireLock(lockName, viaProxy, ttlMs / 60_000)) && { signal: new AbortController().signal })
        : await new StateService(null).lock(lockName, viaProxy, { ttlMs });
      const stalledAt = Date.now();
      proxy.stall();
      let abortedAt = null;
      lease.signal.addEventListener('abort', () => { abortedAt = Date.now(); }, { once: true });
      const other = await new StateService(null).lock(lockName, direct, { waitMs: 10 * ttlMs, ttlMs: 60_000, renew: false });
      const takenAt = Date.now();
      results.push({
        abortedAfterMs: abortedAt === null ? null : abortedAt - stalledAt,
        takenAfterMs: other ? takenAt - stalledAt : null,
        abortedFirst: abortedAt !== null && abortedAt <= takenAt,
        reason: lease.signal.reason?.code ?? null,
      });
      await other?.release();
    } finally {
      proxy.close();
      direct.close();
      // The stalled client's calls never finish; it is dropped, not closed.
    }
  }
  return { ttlMs, rounds, results, allAbortedFirst: results.every((r) => r.abortedFirst && r.reason === 'LOCK_NOT_HELD') };
}
