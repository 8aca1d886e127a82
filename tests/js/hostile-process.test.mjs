// Hostile values through every public entry point, each value in a fresh
// child process with no uncaughtException handler: the process lives, every
// call settles (a rejection with a StateError, or an accepted value), and
// the store and the module stay usable. A negative control runs the same
// harness on a walk without the catch and must see the process die.
// Also: 10,000 failing calls of each kind in one process, then normal use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as api from 'connector-state';
import { ENTRY_POINTS, HOSTILE, revoked, sparse } from './hostile-values.mjs';

const child = fileURLToPath(new URL('./fixtures/hostile-child.mjs', import.meta.url));

function run(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [child, ...args], { timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      resolve({ code: error ? (error.code ?? error.signal) : 0, lines, stderr });
    });
  });
}

// Where a value is legitimate: encodeState keeps a BigInt and a cycle,
// decodeState reads a BigInt as its digits and a hole as null, and a
// retry's error may be anything a workflow threw. Everywhere else, reject.
const TAGGED = ['encodeState', 'CheckpointStore save data field', 'CheckpointStore save data'];
const mayResolve = (entry, label) => (TAGGED.includes(entry) && /BigInt|cycle/.test(label))
  || (entry === 'decodeState' && /BigInt|hole/.test(label))
  || entry === 'RetryTracker.recordFailure error';

for (const store of ['memory', 'deno', 'versori']) {
  test(`hostile values through every entry point: the process lives, calls reject with a StateError, the store stays usable (${store})`, async () => {
    let calls = 0;
    const problems = [];
    for (let i = 0; i < HOSTILE.length; i++) {
      const [label] = HOSTILE[i];
      const { code, lines, stderr } = await run(String(i), store);
      assert.equal(code, 0, `${label}: the process ended with ${code}\n${stderr.slice(0, 2000)}`);
      const last = lines.at(-1);
      assert.deepEqual(last, { usable: true, label }, `${label}: the store or module is no longer usable`);
      const outcomes = lines.slice(0, -1);
      assert.equal(outcomes.length, ENTRY_POINTS.length, `${label}: every entry point settles`);
      for (const o of outcomes) {
        calls++;
        if (o.settled === 'resolved') {
          if (!mayResolve(o.entry, label)) problems.push(`${label} through ${o.entry}: accepted, expected a rejection`);
        } else if (!o.stateError) {
          problems.push(`${label} through ${o.entry}: rejected with a plain error: ${o.message}`);
        } else if (!['INVALID_ARGUMENT', 'VALUE_TOO_LARGE'].includes(o.code)) {
          problems.push(`${label} through ${o.entry}: ${o.code} ${o.message}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(calls >= HOSTILE.length * ENTRY_POINTS.length);
  });
}

test('negative control: a walk without the catch kills the child, and the harness sees it', async () => {
  const { code, lines } = await run('0', 'memory', '--unguarded');
  assert.notEqual(code, 0, 'the unguarded walk must end the process');
  assert.ok(!lines.some((l) => l.usable), 'the child never reached its end');
});

test('10,000 failing calls of each kind in one process leave the package working', async () => {
  const kv = await api.openKv();
  const files = new api.FileTracker(kv, 'p');
  const checkpoint = new api.CheckpointStore(kv, 'c').open('x');
  const state = new api.StateService(null);
  const kinds = [
    ['encodeState', () => api.encodeState({ a: revoked() })],
    ['decodeState', () => api.decodeState({ $cs: 'View', type: 'SharedArrayBuffer', hex: '00' })],
    ['new FileTracker', () => new api.FileTracker(kv, revoked())],
    ['new StateService', () => new api.StateService(null, revoked())],
    ['checkpoint.save', () => checkpoint.save({ a: revoked() })],
    ['markProcessed', () => files.markProcessed('a.csv', { x: sparse(2 ** 32 - 1) })],
    ['updateSyncState', () => state.updateSyncState(kv, [revoked()])],
    ['acquireLock', () => state.acquireLock('l', revoked(), 1)],
  ];
  for (const [kind, call] of kinds) {
    for (let i = 0; i < 10_000; i++) {
      let error;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      if (!(error instanceof api.StateError)) assert.fail(`${kind}, call ${i}: ${error}`);
    }
  }
  await files.markProcessed('fine.csv', { n: 1 });
  assert.equal(await files.isProcessed('fine.csv'), true);
  await checkpoint.save({ rows: Array.from({ length: 1000 }, (_, i) => i) });
  assert.equal((await checkpoint.load()).data.rows.length, 1000);
  const other = await api.openKv();
  assert.equal(await new api.StateService(null).acquireLock('l', other, 1), true);
});

test('refusing the worst sparse array takes no time and no memory', async () => {
  const kv = await api.openKv();
  const checkpoint = new api.CheckpointStore(kv, 'c').open('sparse');
  const before = process.memoryUsage().rss;
  const started = performance.now();
  await assert.rejects(checkpoint.save({ rows: sparse(2 ** 32 - 1) }), { code: 'VALUE_TOO_LARGE' });
  await assert.rejects(checkpoint.save({ rows: sparse(3e7) }), { code: 'VALUE_TOO_LARGE' });
  await assert.rejects(new api.FileTracker(kv, 'p').markProcessed('a', { rows: sparse(1e6) }), { code: 'VALUE_TOO_LARGE' });
  const ms = performance.now() - started;
  const grew = process.memoryUsage().rss - before;
  console.log(`# three sparse arrays refused in ${ms.toFixed(1)} ms, rss +${(grew / 1e6).toFixed(1)} MB`);
  assert.ok(grew < 50e6, `refusing took ${grew} bytes`);
});
