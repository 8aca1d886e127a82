// The differential property test: random sequences of get / getMany / set
// / delete / list (every selector, reverse, cursors, limits, batch sizes) /
// atomic (checks and mutations) on two stores with Deno KV's interface
// must give the same answers. Versionstamps are compared by order (which
// commit made them), not by value. Used by kv-differential.test.mjs
// (embedded against @deno/kv) and kv-servers.test.mjs (PostgreSQL and
// Redis against the embedded store).
import assert from 'node:assert/strict';
import { KvU64 as DenoKvU64 } from '@deno/kv';
import { KvU64 } from 'connector-state';

function random(seed) {
  let s = seed >>> 0;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

const PARTS = ['a', 'b', '', 'zz', 0, 1, -1.5, 1n, -3n, true, false, new Uint8Array([0]), new Uint8Array([1, 2])];
const VALUES = [0, 1, 'x', null, { n: 1 }, [1, 'a'], true, 2n, new Date(0), new Map([[1, 2]]), new Uint8Array([9])];

/** A stable text form of keys, values and entries (Buffers as Uint8Arrays). */
function canon(v) {
  if (v instanceof KvU64 || v instanceof DenoKvU64) return `u64(${v.value})`;
  if (v instanceof Uint8Array) return `u8[${[...v]}]`;
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return `date(${v.getTime()})`;
  if (v instanceof Map) return `map(${[...v].map(([k, x]) => `${canon(k)}=>${canon(x)}`)})`;
  if (Array.isArray(v)) return `[${v.map(canon)}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${k}:${canon(v[k])}`)}}`;
  return typeof v === 'number' && Object.is(v, -0) ? '-0' : JSON.stringify(v) ?? String(v);
}

/** Keys sum / min / max work on, which no other mutation writes (randomKey
 *  never makes them): @deno/kv applies the other writes of a commit whose
 *  sum meets a non-U64 value, so that case is left to the conformance tests. */
const U64_KEYS = [['n'], ['a', 'n']];

function randomKey(r) {
  return Array.from({ length: 1 + r.int(3) }, () => r.pick(PARTS));
}

/** One store under test: its handle, and which commit made each versionstamp. */
function side(kv) {
  return { kv, order: new Map([[null, -1]]), commits: 0 };
}

function stampOrder(s, versionstamp) {
  if (!s.order.has(versionstamp)) throw new Error(`unknown versionstamp ${versionstamp}`);
  return s.order.get(versionstamp);
}

async function collect(iter, max = 200) {
  const out = [];
  for await (const e of iter) {
    out.push(e);
    if (out.length >= max) break;
  }
  return { entries: out, cursor: out.length ? iter.cursor : null };
}

async function run(s, op, prefixKeyInReverse) {
  const { kv } = s;
  const entry = (e) => `${canon(e.key)}=${canon(e.value)}@${stampOrder(s, e.versionstamp)}`;
  switch (op.kind) {
    case 'get':
      return entry(await kv.get(op.key));
    case 'getMany':
      return (await kv.getMany(op.keys)).map(entry).join(' ');
    case 'commit': {
      const atomic = kv.atomic();
      for (const c of op.checks) {
        const current = (await kv.get(c.key)).versionstamp;
        const versionstamp = c.kind === 'current' ? current : c.kind === 'absent' ? null : current === null ? '00000000000000000001' : null;
        atomic.check({ key: c.key, versionstamp });
      }
      for (const m of op.mutations) {
        if (m.type === 'set') atomic.set(m.key, m.value);
        else if (m.type === 'delete') atomic.delete(m.key);
        else atomic[m.type](m.key, m.u64);
      }
      const res = await atomic.commit();
      if (res.ok) s.order.set(res.versionstamp, s.commits++);
      return `ok=${res.ok}`;
    }
    case 'list': {
      const first = await collect(kv.list(op.selector, op.options));
      // @deno/kv yields the prefix key itself in reverse listings (Deno does not).
      const keep = (e) => !(prefixKeyInReverse && op.options.reverse && op.selector.prefix && canon(e.key) === canon(op.selector.prefix));
      let out = first.entries.filter(keep).map(entry).join(' ');
      if (op.resume && first.cursor !== null && first.entries.length === op.options.limit) {
        const rest = await collect(kv.list(op.selector, { ...op.options, limit: undefined, cursor: first.cursor }));
        out += ` | ${rest.entries.filter(keep).map(entry).join(' ')}`;
      }
      return out;
    }
    default:
      throw new Error(op.kind);
  }
}

const NO_ANSWER = 'no answer';

/** A step that does not answer within `ms` gives NO_ANSWER instead of hanging the test. */
function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(NO_ANSWER), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function randomOp(r) {
  const roll = r.next();
  if (roll < 0.2) return { kind: 'get', key: randomKey(r) };
  if (roll < 0.3) return { kind: 'getMany', keys: Array.from({ length: 1 + r.int(4) }, () => randomKey(r)) };
  if (roll < 0.7) {
    return {
      kind: 'commit',
      checks: Array.from({ length: r.int(3) }, () => ({ key: r.next() < 0.3 ? r.pick(U64_KEYS) : randomKey(r), kind: r.pick(['current', 'absent', 'stale']) })),
      mutations: Array.from({ length: 1 + r.int(4) }, () => {
        const m = r.next();
        if (m < 0.6) return { type: 'set', key: randomKey(r), value: r.pick(VALUES) };
        if (m < 0.75) return { type: 'delete', key: randomKey(r) };
        // sum / min / max on a few keys of their own (with the checks above,
        // a stale check must stop these too).
        return { type: r.pick(['sum', 'min', 'max']), key: r.pick(U64_KEYS), u64: BigInt(r.int(50)) };
      }),
    };
  }
  const options = { reverse: r.next() < 0.4 };
  if (r.next() < 0.5) options.limit = 1 + r.int(4);
  // (batchSize only without limit: @deno/kv's iterator can hang when both are given.)
  if (options.limit === undefined && r.next() < 0.4) options.batchSize = 1 + r.int(3);
  let selector;
  const shape = r.int(4);
  const prefix = Array.from({ length: r.int(2) }, () => r.pick(PARTS));
  if (shape === 0) selector = { prefix };
  else if (shape === 1) selector = { prefix, start: [...prefix, r.pick(PARTS)] };
  else if (shape === 2) selector = { prefix, end: [...prefix, r.pick(PARTS)] };
  else {
    const [x, y] = [randomKey(r), randomKey(r)];
    selector = { start: x, end: y };
  }
  return { kind: 'list', selector, options, resume: r.next() < 0.5 };
}

/**
 * Runs `sequences` random sequences of `steps` operations on a store from
 * `openOurs()` and one from `openRef()`; every answer must agree. A
 * reference answer slower than `refTimeoutMs` is counted, not compared.
 */
export async function agree(t, { sequences, steps, openOurs, openRef, refTimeoutMs = 1000, name = 'the store under test' }) {
  const SEQUENCES = sequences;
  const STEPS = steps;
  const unanswered = [];
  for (let seq = 0; seq < SEQUENCES; seq++) {
    const r = random(seq + 1);
    const ours = side(await openOurs());
    const ref = side(await openRef());
    try {
      for (let step = 0; step < STEPS; step++) {
        const op = randomOp(r);
        const [a, b] = await Promise.all([
          // Ours answers in microseconds; a minute only keeps a hang from hanging the suite.
          within(run(ours, op, false).then((v) => v, (e) => `error ${e.name}`), 60_000),
          within(run(ref, op, true).then((v) => v, (e) => `error ${e.name}`), refTimeoutMs),
        ]);
        assert.notEqual(a, NO_ANSWER, `sequence ${seq}, step ${step}: ${name} did not answer`);
        if (b === NO_ANSWER) {
          // @deno/kv's list iterator sometimes never settles after earlier
          // listings of the same store; such steps are counted, not compared.
          unanswered.push(`${seq}/${step}`);
          continue;
        }
        // Both refuse a range whose start is past its end; the reference's
        // error names differ (see kv-conformance.test.mjs), so only "refused" is compared.
        const norm = (v) => (v.startsWith('error') ? 'error' : v);
        assert.equal(norm(a), norm(b), `sequence ${seq}, step ${step}: ${canon(op.selector ?? op.key ?? op.keys ?? op.mutations)}`);
      }
    } finally {
      await ours.kv.close();
      await ref.kv.close();
    }
  }
  t.diagnostic(`${SEQUENCES * STEPS - unanswered.length} steps compared; ${unanswered.length} left unanswered by the reference`);
  // About 0.5% go unanswered; a tenth is far beyond what a slow machine adds.
  assert.ok(unanswered.length <= SEQUENCES * STEPS * 0.1, `the reference left ${unanswered.length} steps unanswered: ${unanswered.join(', ')}`);
}
