// connector-state/testing on its own: the clock, the log, the strict
// Versori host (its key rule, options, values, TTLs, entries, write delay)
// and the context's scopes. The package's Versori tests stand on this host,
// so each of its rules has a test that fails when the rule goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClock, createLog, createVersoriContext, createVersoriKv, versoriKey } from 'connector-state/testing';

test('the clock: start, advance, set, and bad times refused', () => {
  const clock = createClock(1_000);
  assert.equal(clock.now(), 1_000);
  clock.advance(500);
  assert.equal(clock.now(), 1_500);
  clock.advance(0);
  assert.equal(clock.now(), 1_500, 'advancing by 0 is allowed');
  clock.set(new Date(5_000));
  assert.equal(clock.now(), 5_000);
  clock.set(10_000);
  assert.equal(clock.now(), 10_000);
  assert.throws(() => clock.advance(-1), { name: 'TypeError', message: /clock\.advance/ });
  assert.throws(() => clock.advance(NaN), { name: 'TypeError', message: /clock\.advance/ });
  assert.throws(() => clock.set('not a date'), { name: 'TypeError', message: /^time must be a Date/ });
  assert.throws(() => createClock('never'), { name: 'TypeError', message: /^start must be a Date/ });
  assert.equal(createClock(new Date(7)).now(), 7);
});

test('the log: each level, find by level and text, clear', () => {
  const clock = createClock(42);
  const log = createLog(clock);
  log.info('info line', { a: 1 });
  log.warn('warn line');
  log.error('error line');
  log.debug('debug line');
  assert.deepEqual(log.entries.map((e) => [e.level, e.message, e.at]), [['info', 'info line', 42], ['warn', 'warn line', 42], ['error', 'error line', 42], ['debug', 'debug line', 42]]);
  assert.deepEqual(log.find('warn').map((e) => e.message), ['warn line']);
  assert.deepEqual(log.find(null, 'line').length, 4);
  assert.deepEqual(log.find(null, /^err/).map((e) => e.level), ['error']);
  assert.deepEqual(log.find('info', 'nope'), []);
  log.clear();
  assert.deepEqual(log.entries, []);
});

test('versoriKey: NATS KV\'s rule, arrays joined with /', () => {
  assert.equal(versoriKey('a/b.c=d_e-f'), 'a/b.c=d_e-f');
  assert.equal(versoriKey(['a', 'b']), 'a/b');
  for (const bad of [[], [1], ['a', 2], 5, null, undefined, {}]) {
    assert.throws(() => versoriKey(bad), { name: 'TypeError', message: 'a Versori KV key is a string or an array of strings' }, JSON.stringify(bad));
  }
  for (const bad of ['', 'a b', 'a:b', '.a', 'a.', 'a..b', 'ü', 'a%b', 'a(b)', 'a*b', 'a>b']) {
    assert.throws(() => versoriKey(bad), (e) => e.message === `nats: invalid key ${JSON.stringify(bad)}`, bad);
  }
});

test('the host: options, JSON values, TTL on its clock, entries of live keys only', async () => {
  const clock = createClock(0);
  const kv = createVersoriKv(clock);
  assert.equal(await kv.get('none'), undefined);
  assert.equal(await kv.get('none', {}), undefined);
  assert.equal(await kv.get('none', { default: 0 }), 0);
  await assert.rejects(kv.get('none', { throwOnNotFound: true }), (e) => e.name === 'KVNotFoundError' && e.key === 'none');
  await kv.set('v', { d: new Date(0), m: new Map([[1, 2]]), u: undefined });
  assert.deepEqual(await kv.get('v', { throwOnNotFound: true }), { d: '1970-01-01T00:00:00.000Z', m: {} });
  await assert.rejects(kv.set('f', () => 1), { name: 'TypeError', message: 'a Versori KV value must be JSON-serialisable' });
  await assert.rejects(kv.set('f', undefined), /JSON-serialisable/);
  await kv.set('short', 1, { ttl: 2 });
  await kv.set('long', 2);
  for (const ttl of [0, -1, NaN, Infinity]) await assert.rejects(kv.set('bad', 1, { ttl }), { name: 'TypeError', message: 'ttl must be a positive number of seconds' });
  assert.deepEqual(kv.entries().map((e) => e.key).sort(), ['long', 'short', 'v']);
  clock.advance(1_999);
  assert.equal(await kv.get('short'), 1);
  clock.advance(1);
  assert.equal(await kv.get('short'), undefined, 'gone at its TTL');
  assert.deepEqual(kv.entries().map((e) => e.key).sort(), ['long', 'v'], 'entries lists live keys only');
  await kv.delete('long');
  assert.equal(await kv.get('long'), undefined);
  await kv.set(['a', 'b'], 3);
  assert.deepEqual(kv.entries().find((e) => e.key === 'a/b'), { key: 'a/b', value: 3 });
});

test('the host\'s write delay: bad settings refused; writes land later, answered after or at once', async () => {
  for (const writeDelayMs of [-1, NaN, Infinity, '5']) {
    assert.throws(() => createVersoriKv(undefined, { writeDelayMs }), { name: 'TypeError', message: 'writeDelayMs must be a non-negative number of milliseconds' });
  }
  assert.throws(() => createVersoriKv(undefined, { acknowledge: 'never' }), { name: 'TypeError', message: "acknowledge must be 'after-landing' or 'at-once'" });
  const after = createVersoriKv(undefined, { writeDelayMs: 60 });
  await after.set('k', 1);
  assert.equal(await after.get('k'), 1, "answered once the write landed ('after-landing')");
  const atOnce = createVersoriKv(undefined, { writeDelayMs: 60, acknowledge: 'at-once' });
  let seen = false;
  for (let i = 0; i < 20 && !seen; i++) {
    await atOnce.set(`k${i}`, 1);
    seen = (await atOnce.get(`k${i}`)) === undefined;
  }
  assert.ok(seen, "'at-once' answers before the write shows");
  const instant = createVersoriKv(undefined, { writeDelayMs: 0, acknowledge: 'at-once' });
  await instant.set('now', 1);
  assert.equal(await instant.get('now'), 1, 'no delay: visible at once');
});

test('the context: one store per scope, the same object each time, unknown scopes refused', () => {
  const ctx = createVersoriContext({ data: { a: 1 }, now: 5, executionId: 'exec-1' });
  assert.deepEqual(ctx.data, { a: 1 });
  assert.equal(ctx.executionId, 'exec-1');
  assert.equal(ctx.clock.now(), 5);
  const scopes = [':execution:', ':project:', ':workspace:', ':organization:', ':user:'];
  const stores = scopes.map((s) => ctx.openKv(s));
  assert.equal(new Set(stores).size, 5, 'one store per scope');
  for (const [i, s] of scopes.entries()) assert.equal(ctx.openKv(s), stores[i], 'the same object each time');
  assert.equal(ctx.openKv(), ctx.openKv(':project:'), 'the project scope by default');
  for (const bad of ['project', ':team:', '']) {
    assert.throws(() => ctx.openKv(bad), { name: 'TypeError', message: `unknown KV scope ${JSON.stringify(bad)}: use one of ${scopes.join(', ')}` });
  }
  assert.match(createVersoriContext().executionId, /^exec-[a-z0-9]+$/);
  const slow = createVersoriContext({ writeDelayMs: 50, acknowledge: 'at-once' });
  assert.ok(slow.openKv(':project:'));
});

test('the context\'s stores write late when asked', async () => {
  const ctx = createVersoriContext({ writeDelayMs: 80, acknowledge: 'at-once' });
  const kv = ctx.openKv(':execution:');
  let late = false;
  for (let i = 0; i < 20 && !late; i++) {
    await kv.set(`k${i}`, i);
    late = (await kv.get(`k${i}`)) === undefined;
  }
  assert.ok(late, 'the context passes its write delay on to its stores');
});
