// Leases (state.lock, withLock, FileTracker.claim): renewal past the TTL on
// every store kind, a signal that aborts before expiry when the lease is
// lost, waiting, disposal, timers that never keep a process alive, a holder
// killed with SIGKILL, and clock skew on both sides of the documented bound.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileTracker, StateService, openKv } from 'connector-state';
import { sleep, storeKinds, withStore } from './helpers.mjs';
import { startAll, startPostgres, startRedis } from '../servers.mjs';

const quiet = null;
const root = fileURLToPath(new URL('../..', import.meta.url));

let pg;
let redis;
before(async () => {
  [pg, redis] = await startAll(startPostgres, startRedis);
});
after(() => {
  pg?.remove();
  redis?.remove();
});

const kinds = {
  ...storeKinds,
  postgres: async () => {
    const kv = await openKv(pg.url, { namespace: `lease-${Math.random().toString(36).slice(2)}` });
    return { kv, close: () => kv.close() };
  },
  redis: async () => {
    const kv = await openKv(redis.url, { namespace: `lease-${Math.random().toString(36).slice(2)}` });
    return { kv, close: () => kv.close() };
  },
};

for (const [kind, open] of Object.entries(kinds)) {
  describe(`leases on ${kind}`, () => {
    test('a lease renews itself: held for 3× its TTL, another run cannot take it, release frees it', async () => {
      await withStore(open, async (kv) => {
        const a = new StateService(quiet);
        const b = new StateService(quiet);
        const lease = await a.lock('long-job', kv, { ttlMs: 400 });
        assert.ok(lease);
        const first = lease.expiresAt;
        const token = lease.fencingToken;
        for (let i = 0; i < 6; i++) {
          await sleep(200);
          assert.equal(await b.lock('long-job', kv, { ttlMs: 400 }), null, `taken at ${(i + 1) * 200} ms`);
        }
        assert.ok(lease.expiresAt > first, 'renewals moved the expiry on');
        assert.deepEqual(a.getHeldLock('long-job'), { lockName: 'long-job', lockId: lease.lockId, fencingToken: token, expiresAt: lease.expiresAt });
        assert.equal(b.getHeldLock('long-job'), null);
        assert.equal(lease.signal.aborted, false);
        assert.equal(await lease.release(), true);
        const next = await b.lock('long-job', kv, { ttlMs: 400, renew: false });
        assert.ok(next && next.fencingToken > token, 'the next holder has a higher fencing token');
        await next.release();
      });
    });

    test('a claim renews itself past its TTL and completes', async () => {
      await withStore(open, async (kv) => {
        const mine = new FileTracker(kv, 'lease');
        const theirs = new FileTracker(kv, 'lease');
        const claim = await mine.claim('big.csv', { ttlMs: 400 });
        assert.equal(claim.claimed, true);
        await sleep(1000);
        assert.equal((await theirs.claim('big.csv', { ttlMs: 400 })).status, 'in-progress');
        assert.equal(claim.signal.aborted, false);
        const pushed = await mine.extendClaim('big.csv', { ttlMs: 5000 });
        assert.ok(Date.parse(pushed) > Date.now() + 3000, 'extendClaim pushes the expiry');
        await assert.rejects(theirs.extendClaim('big.csv'), { code: 'CLAIM_NOT_HELD' });
        await claim.complete({ rows: 1 });
        assert.equal(await theirs.isProcessed('big.csv'), true);
      });
    });
  });
}

describe('leases: losing, waiting, disposing', () => {
  test('force-released: the signal aborts with LOCK_NOT_HELD at the next renewal, before the lease would expire', async () => {
    const kv = await openKv();
    const state = new StateService(quiet);
    const lease = await state.lock('job', kv, { ttlMs: 600 });
    const lost = new Promise((resolve) => lease.signal.addEventListener('abort', () => resolve(Date.now()), { once: true }));
    const forcedAt = Date.now();
    await new StateService(quiet).forceReleaseLock('job', kv);
    const abortedAt = await lost;
    assert.equal(lease.signal.reason.code, 'LOCK_NOT_HELD');
    assert.equal(lease.signal.reason.name, 'StateError');
    // Before the lease would have expired (its expiry as last renewed), not after.
    assert.ok(abortedAt <= Date.parse(lease.expiresAt), `aborted ${abortedAt - forcedAt} ms after the force release, past ${lease.expiresAt}`);
    await assert.rejects(lease.extend(), { code: 'LOCK_NOT_HELD' });
  });

  test('taken over after a pause: the old lease learns it, its release returns false, the new one keeps the lock', async () => {
    const kv = await openKv();
    let skew = 0;
    const old = new StateService(quiet, { now: () => Date.now() + skew });
    const lease = await old.lock('job', kv, { ttlMs: 300, renew: false });
    await sleep(350);
    const taker = new StateService(quiet);
    const theirs = await taker.lock('job', kv, { ttlMs: 60_000 });
    assert.ok(theirs, 'the expired lock is taken over');
    assert.equal(lease.signal.aborted, true, 'without renewal the signal aborts before expiry');
    await assert.rejects(lease.extend(), { code: 'LOCK_NOT_HELD' });
    assert.equal(await lease.release(), false);
    assert.equal((await taker.getLockInfo('job', kv)).heldByMe, true);
    skew = 0;
    await theirs.release();
  });

  test('renewals that keep failing abort the signal before the lease expires', async () => {
    const inner = await openKv();
    let failing = false;
    const fail = () => { throw new Error('connection reset'); };
    const kv = {
      get: (...a) => (failing ? fail() : inner.get(...a)),
      set: (...a) => (failing ? fail() : inner.set(...a)),
      delete: (...a) => (failing ? fail() : inner.delete(...a)),
      list: (...a) => inner.list(...a),
      atomic: () => (failing ? fail() : inner.atomic()),
    };
    const state = new StateService(quiet);
    const lease = await state.lock('job', kv, { ttlMs: 600 });
    const startedAt = Date.now();
    failing = true;
    const abortedAt = await new Promise((resolve) => lease.signal.addEventListener('abort', () => resolve(Date.now()), { once: true }));
    assert.equal(lease.signal.reason.code, 'LOCK_NOT_HELD');
    assert.match(lease.signal.reason.message, /renewals did not succeed in time.*connection reset/);
    assert.ok(abortedAt <= Date.parse(lease.expiresAt), `aborted ${abortedAt - startedAt} ms into a 600 ms lease, past ${lease.expiresAt}`);
  });

  test('waitMs: a waiter gets the lock soon after release; the time runs out with null; a signal stops the wait', async () => {
    const kv = await openKv();
    const a = new StateService(quiet);
    const b = new StateService(quiet);
    const held = await a.lock('w', kv, { ttlMs: 60_000 });
    setTimeout(() => held.release(), 150);
    const started = Date.now();
    const got = await b.lock('w', kv, { waitMs: 5000 });
    const waited = Date.now() - started;
    assert.ok(got, 'the waiter got the lock');
    assert.ok(waited < 1000, `took ${waited} ms`);
    assert.equal(await a.lock('w', kv, { waitMs: 100 }), null);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(a.lock('w', kv, { waitMs: 10_000, signal: controller.signal }), (e) => e === reason);
    await assert.rejects(a.lock('w', kv, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    await got.release();
  });

  test('Symbol.asyncDispose releases; withLock renews and hands fn the signal; old options keep working', async () => {
    const kv = await openKv();
    const state = new StateService(quiet);
    const lease = await state.lock('d', kv);
    await lease[Symbol.asyncDispose]();
    assert.equal((await state.getLockInfo('d', kv)).isLocked, false);
    const seen = await state.withLock('wl', kv, async (lock) => {
      await sleep(700);
      return { aborted: lock.signal.aborted, token: typeof lock.fencingToken, other: await new StateService(quiet).acquireLock('wl', kv) };
    }, { ttlMs: 300 });
    assert.deepEqual(seen, { aborted: false, token: 'number', other: false });
    assert.equal(await state.withLock('wl', kv, () => 7, { timeoutMinutes: 1 }), 7);
    await assert.rejects(state.lock('x', kv, { ttl: 5 }), { code: 'INVALID_ARGUMENT', message: /options\.ttl .*did you mean options\.ttlMs/ });
    await assert.rejects(state.lock('x', kv, { ttlMs: -1 }), { code: 'INVALID_ARGUMENT', message: /options\.ttlMs/ });
    await assert.rejects(state.lock('x', kv, { renew: 'yes' }), { code: 'INVALID_ARGUMENT', message: /options\.renew/ });
    await assert.rejects(state.lock('x', kv, { signal: {} }), { code: 'INVALID_ARGUMENT', message: /options\.signal/ });
  });

  test('`await using` compiled by tsc runs in Node and releases at the end of the block', () => {
    const dir = join(root, 'tests', 'tmp', 'using');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.ts'), `import { StateService, openKv } from 'connector-state';
const kv = await openKv();
const state = new StateService(null);
{
  await using lease = await state.lock('disposed', kv, { ttlMs: 60_000 });
  if (!lease) throw new Error('no lease');
  console.log('inside', (await state.getLockInfo('disposed', kv))?.isLocked);
}
console.log('after', (await state.getLockInfo('disposed', kv))?.isLocked);
`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'esnext.disposable'], types: ['node'], rootDir: '.', outDir: 'out' }, files: ['main.ts'] }));
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')]);
    const out = execFileSync(process.execPath, [join(dir, 'out', 'main.js')], { encoding: 'utf8' });
    assert.equal(out, 'inside true\nafter false\n');
  });

  test('renewal timers never keep a Node process alive', () => {
    const script = `import { StateService, FileTracker, openKv } from 'connector-state';
const kv = await openKv();
await new StateService(null).lock('forgotten', kv, { ttlMs: 60_000 });
await new FileTracker(kv, 'p').claim('f.csv', { ttlMs: 60_000 });
console.log('done');`;
    // A process kept alive by a timer would run into execFileSync's timeout (15 s; renewal is at 20 s) and fail here.
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    assert.equal(out.trim(), 'done');
  });
});

test('an injected clock sets the times StateService, FileTracker and IndexedFileTracker write', async () => {
  const kv = await openKv();
  const at = Date.parse('2030-01-02T03:04:05.000Z');
  const now = () => at;
  const state = new StateService(quiet, { now });
  await state.acquireLock('clocked', kv, 1);
  assert.equal((await state.getLockInfo('clocked', kv)).expiresAt, new Date(at + 60_000).toISOString());
  const files = new FileTracker(kv, { prefix: 'clocked', now });
  await files.markProcessed('a.csv');
  assert.equal((await files.getRecord('a.csv')).processedAt, new Date(at).toISOString());
  const { IndexedFileTracker } = await import('connector-state');
  const indexed = new IndexedFileTracker(kv, { prefix: 'clocked', now });
  await indexed.mark('b.csv');
  assert.equal((await indexed.get('b.csv')).processedAt, new Date(at).toISOString());
  assert.throws(() => new StateService(quiet, { now: 5 }), { code: 'INVALID_ARGUMENT', message: /options\.now/ });
  assert.throws(() => new StateService(quiet, { clock: now }), { code: 'INVALID_ARGUMENT', message: /options\.clock/ });
});

describe('crashes and clock skew', () => {
  test('a holder killed with SIGKILL: the next acquirer takes over after the TTL, with a higher fencing token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-crash-'));
    const path = join(dir, 'state.sqlite');
    try {
      const ttlMs = 1000;
      const child = spawn(process.execPath, ['--input-type=module', '-e', `
import { StateService } from 'connector-state';
import { openKv } from '@deno/kv';
const kv = await openKv(${JSON.stringify(path)});
const lease = await new StateService(null).lock('crash', kv, { ttlMs: ${ttlMs} });
console.log(JSON.stringify({ token: lease.fencingToken }));
setInterval(() => {}, 1000); // inside the critical section, forever`], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      const first = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(JSON.parse(d))));
      const { openKv: openDenoKv } = await import('@deno/kv');
      const kv = await openDenoKv(path);
      try {
        await sleep(3 * ttlMs); // the holder renews: nobody can take it
        assert.equal(await new StateService(quiet).lock('crash', kv), null, 'a live renewing holder keeps the lock');
        child.kill('SIGKILL');
        const killedAt = Date.now();
        const next = await new StateService(quiet).lock('crash', kv, { waitMs: 10 * ttlMs, ttlMs: 60_000 });
        const takeover = Date.now() - killedAt;
        assert.ok(next, 'taken over');
        assert.ok(next.fencingToken > first.token);
        assert.ok(takeover <= 2 * ttlMs, `took over after ${takeover} ms (TTL ${ttlMs} ms)`);
        await next.release();
      } finally {
        kv.close();
        child.kill('SIGKILL');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('clock skew: a taker ahead by less than 2/3 of the TTL never takes a renewing lease; beyond it, the fencing token still rises', async () => {
    const kv = await openKv();
    const ttlMs = 600;
    const holder = new StateService(quiet);
    const lease = await holder.lock('skew', kv, { ttlMs });
    // Ahead by half the TTL: within the bound.
    const near = new StateService(quiet, { now: () => Date.now() + ttlMs / 2 });
    for (let i = 0; i < 20; i++) {
      assert.equal(await near.acquireLock('skew', kv, ttlMs / 60_000), false, `taken at try ${i}`);
      await sleep(60);
    }
    assert.equal(lease.signal.aborted, false);
    // Ahead by a full TTL: beyond the bound, the lease can be taken…
    const far = new StateService(quiet, { now: () => Date.now() + ttlMs });
    let taken = false;
    for (let i = 0; i < 40 && !taken; i++) {
      taken = await far.acquireLock('skew', kv, 10);
      if (!taken) await sleep(20);
    }
    assert.ok(taken, 'a clock a full TTL ahead takes the lease over');
    // …and the fencing token is the protection: it rose, and the old holder learns at its next renewal.
    assert.ok(far.getLockToken('skew') > lease.fencingToken);
    await new Promise((resolve) => (lease.signal.aborted ? resolve() : lease.signal.addEventListener('abort', resolve, { once: true })));
    assert.equal(lease.signal.reason.code, 'LOCK_NOT_HELD');
  });
});

describe('release waits for a renewal already on its way to the store', () => {
  // A Versori-style store (no compare-and-set) whose writes can be held at a
  // gate: a renewal write that lands after the release's delete would bring
  // the lock back for its whole TTL.
  async function gated() {
    const { createVersoriKv } = await import('connector-state/testing');
    const inner = createVersoriKv();
    let gate = null;
    let reached = null;
    const kv = {
      get: (k) => inner.get(k),
      delete: (k) => inner.delete(k),
      set: async (k, v, o) => {
        if (gate) {
          reached?.();
          await gate;
        }
        return inner.set(k, v, o);
      },
    };
    return {
      kv,
      hold: () => {
        let open;
        gate = new Promise((r) => (open = r));
        const hit = new Promise((r) => (reached = r));
        return { hit, open: () => { gate = null; open(); } };
      },
    };
  }

  test('a lease: the renewal lands first, then the release removes the lock', async () => {
    const { kv, hold } = await gated();
    const state = new StateService(null, { maxWriteDelayMs: 0 });
    const lease = await state.lock('gated', kv, { ttlMs: 600 });
    assert.ok(lease);
    const held = hold();
    await held.hit; // the first renewal (a third of the TTL) is writing
    const releasing = lease.release();
    await sleep(50);
    held.open();
    assert.equal(await releasing, true);
    const info = await new StateService(null).getLockInfo('gated', kv);
    assert.equal(info?.isLocked ?? false, false, `the lock came back: ${JSON.stringify(info)}`);
  });

  test('a claim: release and complete wait for the renewal too', async () => {
    const { kv, hold } = await gated();
    const files = new FileTracker(kv, { prefix: 'gated', maxWriteDelayMs: 0 });
    for (const end of ['release', 'complete']) {
      const claim = await files.claim(`${end}.csv`, { ttlMs: 600 });
      assert.ok(claim.claimed);
      const held = hold();
      await held.hit;
      const ending = end === 'release' ? claim.release() : claim.complete({ n: 1 });
      await sleep(50);
      held.open();
      await ending;
      assert.equal(await new FileTracker(kv, { prefix: 'gated' }).status(`${end}.csv`), end === 'release' ? 'new' : 'processed', end);
    }
  });
});
