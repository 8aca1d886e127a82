// The command line's parts, run in this process (js/cli/main.mjs's run()
// with its output captured; cli.test.mjs runs the real binary): argument
// parsing and every usage error in its words, the actions' answers when
// there is nothing to do and when they act, copy's report, batches and
// refusals, and the terminal-safe text. SQLite files through @deno/kv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKv as openDenoKv } from '@deno/kv';
import { CheckpointStore, FileTracker, IndexedFileTracker, RetryTracker, StateService } from 'connector-state';
import { isFilePath, safe, USAGE } from '../../js/cli/common.mjs';
import { runInProcess } from './cli-process.mjs';

const cli = (...args) => runInProcess({}, args);

async function scratch(fill) {
  const dir = mkdtempSync(join(tmpdir(), 'cs-cli-units-'));
  const path = join(dir, 'state.sqlite');
  const kv = await openDenoKv(path);
  try {
    await fill?.(kv);
  } finally {
    kv.close();
  }
  return { dir, path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

test('safe(): control characters, bidi overrides and backslashes become escapes; other text is kept', () => {
  assert.equal(safe('a\\b'), 'a\\\\b');
  assert.equal(safe('x\ny\rz\tw'), 'x\\ny\\rz\\tw');
  assert.equal(safe('\u001b[31mred'), '\\u001b[31mred');
  assert.equal(safe('\u202eevil\u2066'), '\\u202eevil\\u2066');
  assert.equal(safe('\u0085\u2028'), '\\u0085\\u2028');
  assert.equal(safe('plain ünïcode ✓'), 'plain ünïcode ✓');
  assert.equal(safe(42), '42');
  assert.equal(isFilePath(':memory:'), false);
  assert.equal(isFilePath('postgres://h/db'), false);
  assert.equal(isFilePath('HTTP://h'), false);
  assert.equal(isFilePath('data/state.sqlite'), true);
  assert.equal(isFilePath('c:\\state.sqlite'), true);
});

test('help, and every usage error in its words (exit code 2, the usage after it)', async () => {
  for (const args of [[], ['help'], ['inspect', '--help']]) {
    const r = await cli(...args);
    assert.equal(r.code, 0, args.join(' '));
    assert.equal(r.stdout, `${USAGE}\n`);
  }
  const { path, remove } = await scratch((kv) => new StateService(null).acquireLock('held', kv, 15));
  try {
    const usage = async (args, message) => {
      const r = await cli(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr, `connector-state: ${message}\n\n${USAGE}\n`, args.join(' '));
      assert.equal(r.stdout, '');
    };
    await usage(['frob', path], 'unknown command "frob"');
    await usage(['inspect'], 'inspect needs a store: a SQLite file path, a denokv URL, or a postgres:// or redis:// URL');
    await usage(['release-lock', path], 'release-lock takes 2 arguments');
    await usage(['forget-file', path, 'p'], 'forget-file takes 3 arguments');
    await usage(['inspect', path, '--stuck-minutes'], '--stuck-minutes needs a value');
    for (const bad of ['0', '-1', 'abc', 'Infinity']) await usage(['inspect', path, '--stuck-minutes', bad], '--stuck-minutes must be a positive number');
    await usage(['inspect', path, `--stuck-minutes=0`], '--stuck-minutes must be a positive number');
    await usage(['inspect', path, '--yes'], 'unknown flag --yes for inspect (it belongs to release-lock, forget-file, requeue, clear-checkpoint)');
    await usage(['inspect', path, '--jsn'], 'unknown flag --jsn for inspect (did you mean --json?)');
    await usage(['inspect', path, '--zzzzzzzz'], 'unknown flag --zzzzzzzz for inspect');
    await usage(['inspect', path, '--namespace', 'x'], '--namespace and --table are for PostgreSQL and Redis stores (postgres://…, redis://…)');
    await usage(['inspect', 'redis://127.0.0.1:1', '--table', 't'], '--table is for PostgreSQL stores');
    await usage(['inspect', join(path, '..', 'missing.sqlite')], `no store at ${join(path, '..', 'missing.sqlite')}: the file does not exist (check the path; nothing was created)`);
    await usage(['release-lock', path, 'held'], 'no terminal to ask for confirmation: add --yes to go ahead');
    // Values given as --flag=value count, and are checked before anything opens.
    const r = await cli('inspect', path, '--stuck-minutes=30', '--json');
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).other, 0);
    // A store failure: exit 1, its code and message.
    const failed = await cli('inspect', 'redis://127.0.0.1:1');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^connector-state: STORE_UNAVAILABLE: Redis \(connecting to redis:\/\/127\.0\.0\.1:1\): /);
  } finally {
    remove();
  }
});

test('the actions: nothing to do says so; with --yes each acts and says what it did', async () => {
  const { path, remove } = await scratch(async (kv) => {
    await new StateService(null).acquireLock('held', kv, 15);
    await new FileTracker(kv, 'in').markProcessed('both.csv');
    await new IndexedFileTracker(kv, 'in').mark('both.csv');
    await new FileTracker(kv, 'in').markProcessed('plain.csv');
    await new RetryTracker(kv, { namespace: 'orders' }).recordFailure('o-1', new Error('timeout'));
    await new CheckpointStore(kv, { namespace: 'etl' }).open('nightly').save({ at: 1 });
  });
  try {
    const says = async (args, code, stdout) => {
      const r = await cli(...args);
      assert.equal(r.stderr, '', args.join(' '));
      assert.equal(r.code, code, args.join(' '));
      assert.equal(r.stdout, `${stdout}\n`, args.join(' '));
    };
    await says(['release-lock', path, 'free'], 0, 'lock "free" is not locked: nothing to do');
    await says(['release-lock', path, 'held', '--yes'], 0, 'released lock "held"');
    await says(['release-lock', path, 'held', '--yes'], 0, 'lock "held" is not locked: nothing to do');
    await says(['forget-file', path, 'in', 'none.csv', '--yes'], 0, 'no record of "none.csv" under prefix "in": nothing to do');
    await says(['forget-file', path, 'in', 'both.csv', '--yes'], 0, 'forgot "both.csv" (FileTracker and IndexedFileTracker)');
    await says(['forget-file', path, 'in', 'plain.csv', '--yes'], 0, 'forgot "plain.csv" (FileTracker)');
    await says(['forget-file', path, 'in', 'both.csv', '--yes'], 0, 'no record of "both.csv" under prefix "in": nothing to do');
    await says(['requeue', path, 'orders', 'o-2', '--yes'], 0, 'no retry state for "o-2" in "orders": nothing to do');
    await says(['requeue', path, 'orders', 'o-1', '--yes'], 0, 'requeued "o-1": it is due now');
    await says(['clear-checkpoint', path, 'etl', 'other', '--yes'], 0, 'no checkpoint etl/other: nothing to do');
    await says(['clear-checkpoint', path, 'etl', 'nightly', '--yes'], 0, 'cleared checkpoint etl/nightly');
    await says(['clear-checkpoint', path, 'etl', 'nightly', '--yes'], 0, 'no checkpoint etl/nightly: nothing to do');
  } finally {
    remove();
  }
});

test('copy: batches of many entries, locks left out unless asked, the target checked, and a report that says all of it', async () => {
  const { dir, path, remove } = await scratch(async (kv) => {
    await new StateService(null).acquireLock('held', kv, 15);
    const files = new FileTracker(kv, 'big');
    for (let i = 0; i < 1_100; i++) await files.markProcessed(`f-${String(i).padStart(4, '0')}.csv`, { note: 'x'.repeat(100) });
  });
  try {
    const target = join(dir, 'copy.sqlite');
    const r = await cli('copy', path, target);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'copied 1000 entries…\n');
    assert.match(r.stdout, new RegExp(`^copied 1100 entries from ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} to .*copy\\.sqlite \\(1 left out: locks \\(add --include-locks to copy them\\)\\); verified: 1100 entries, checksum [0-9a-f]{16}\\n$`));
    // Into a store that is not empty: refused, unless asked; the report counts what else it holds.
    const again = await cli('copy', path, target);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `connector-state: TARGET_NOT_EMPTY: the target ${target} is not empty: add --into-non-empty to copy into it anyway\n`);
    const other = join(dir, 'other.sqlite');
    const kv = await openDenoKv(other);
    await kv.set(['unrelated'], 1);
    kv.close();
    const into = await cli('copy', path, other, '--into-non-empty', '--include-locks');
    assert.equal(into.code, 0, into.stderr);
    assert.match(into.stdout, /^copied 1101 entries from .* to .*other\.sqlite; verified: 1101 entries, checksum [0-9a-f]{16} \(the target holds 1 other entries too\)\n$/);
  } finally {
    remove();
  }
});
