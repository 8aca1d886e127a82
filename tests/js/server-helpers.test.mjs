// What the PostgreSQL and Redis stores share (js/stores/server.mjs), on its
// own and without servers: namespaces, options, URLs with their secrets
// hidden, driver failures as StateErrors that keep the driver's error,
// undecodable rows, keys as text, and how a store shows itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { StateError } from 'connector-state';
import { checkNamespace, checkStoreOptions, decodeStored, keyText, redactUrl, ServerKvFront, unavailable, UnreadableValue } from '../../js/stores/server.mjs';

test('namespaces: default, the allowed alphabet, 1 to 128 characters', () => {
  assert.equal(checkNamespace(undefined), 'default');
  for (const ok of ['a', 'team-a', 'A_b.c:d-1', 'x'.repeat(128)]) assert.equal(checkNamespace(ok), ok);
  for (const bad of ['', 'x'.repeat(129), 'a b', 'a/b', 'ü', 7, null]) {
    assert.throws(
      () => checkNamespace(bad),
      (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT' && e.message.startsWith("namespace must be 1 to 128 letters, digits, '_', '.', ':' or '-': got "),
      String(bad),
    );
  }
  assert.throws(() => checkNamespace('a b'), { message: /got "a b"$/ });
});

test("store options: the names allowed, with the core's hint, and nothing else", () => {
  assert.deepEqual(checkStoreOptions(undefined, ['namespace'], 'openX'), {});
  assert.deepEqual(checkStoreOptions(null, ['namespace'], 'openX'), {});
  const given = { namespace: 'n' };
  assert.equal(checkStoreOptions(given, ['namespace', 'table'], 'openX'), given);
  assert.throws(
    () => checkStoreOptions({ namespce: 'n' }, ['namespace'], 'openX'),
    (e) => e.code === 'INVALID_ARGUMENT' && e.message === 'openX: options.namespce is not an option here (did you mean openX: options.namespace?)',
  );
  assert.throws(() => checkStoreOptions('n', ['namespace'], 'openX'), (e) => e.code === 'INVALID_ARGUMENT' && /openX: options must be an object/.test(e.message));
});

test('URLs lose their secrets: password, secret query values, and everything before @ in what is not a URL', () => {
  assert.equal(redactUrl('postgres://app:s3cret@db:5432/app'), 'postgres://app:***@db:5432/app');
  assert.equal(redactUrl('redis://db:6379/0'), 'redis://db:6379/0');
  assert.equal(redactUrl('postgres://db/app?password=x&sslmode=require&api_key=k&token=t&secret=s'), 'postgres://db/app?password=***&sslmode=require&api_key=***&token=***&secret=***');
  assert.equal(redactUrl('postgres://u:p/w#x@db/app'), 'postgres://***@db/app', 'a password with / or # is not a URL: all before the last @ goes');
  assert.equal(redactUrl('not a url?token=abc'), 'not a url');
  assert.equal(redactUrl('plain'), 'plain');
});

test('a driver failure is STORE_UNAVAILABLE naming what failed, keeping the driver error as cause and its code, with no credentials', () => {
  const driver = Object.assign(new Error('connect ECONNREFUSED postgres://app:pw@db:5432/app'), { code: 'ECONNREFUSED' });
  const e = unavailable('PostgreSQL (opening the store)', driver, '. Try again');
  assert.ok(e instanceof StateError);
  assert.equal(e.code, 'STORE_UNAVAILABLE');
  assert.equal(e.message, 'PostgreSQL (opening the store): connect ECONNREFUSED postgres://***@db:5432/app. Try again');
  assert.equal(e.driverCode, 'ECONNREFUSED');
  // The credentials are not kept in the cause either (nor in what JSON or inspect show).
  assert.equal(e.cause.message, 'connect ECONNREFUSED postgres://***@db:5432/app');
  assert.equal(e.cause.code, 'ECONNREFUSED');
  for (const shown of [JSON.stringify(e), inspect(e), e.stack, e.cause.stack]) assert.ok(!shown.includes('pw'), shown);
  // A driver error with nothing to hide is the cause itself.
  const clean = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.equal(unavailable('Redis', clean).cause, clean);
  assert.equal(e.retryable, true);
  const plain = unavailable('Redis', 'socket closed');
  assert.equal(plain.message, 'Redis: socket closed');
  assert.equal(plain.driverCode, undefined);
});

test('undecodable rows: listed as UnreadableValue, read as CORRUPT_STATE naming the key', () => {
  const fails = () => {
    throw new Error('bad bytes');
  };
  assert.equal(decodeStored((b) => b.length, Uint8Array.of(1, 2), ['k'], false), 2);
  const listed = decodeStored(fails, Uint8Array.of(1), ['a', 1n, true, Uint8Array.of(1, 2)], true);
  assert.ok(listed instanceof UnreadableValue);
  assert.equal(listed.problem, 'bad bytes');
  assert.equal(String(listed), 'unreadable value at ["a", 1n, true, <2 bytes>]: bad bytes');
  assert.ok(Object.isFrozen(listed));
  assert.throws(
    () => decodeStored(fails, Uint8Array.of(1), ['a', 2], false),
    (e) => e instanceof StateError && e.code === 'CORRUPT_STATE' && e.message === 'the value at ["a", 2] cannot be read (bad bytes); inspect it, or delete it',
  );
  assert.throws(() =>
    decodeStored(
      () => {
        throw 'text';
      },
      Uint8Array.of(1),
      ['b'],
      false,
    ), { message: /cannot be read \(text\)/ });
  assert.equal(keyText(null), '(a key)');
});

test('a server store shows its kind and where it is connected, never more', () => {
  const front = new ServerKvFront({ close() {} }, 'postgres', { table: 't', namespace: 'n' });
  assert.equal(front.__connectorStateKind, 'postgres');
  assert.deepEqual(JSON.parse(JSON.stringify(front)), { kind: 'postgres', table: 't', namespace: 'n' });
  assert.equal(inspect(front), 'ServerKvFront {"table":"t","namespace":"n"}');
});

test('edge cases of the helpers: text that is not a URL, a URL at the start of a message, errors that are not Errors', () => {
  // Not URLs (no scheme, or a line break): everything up to the last '@' goes.
  assert.equal(redactUrl('pass word@db:5432'), '***@db:5432');
  assert.equal(redactUrl('bad host\nuser:secret@db'), '***@db');
  assert.equal(redactUrl('postgres://u:p/w#x@db/app'), 'postgres://***@db/app');
  // A connection string at the very start of a driver's message, and a one-letter scheme.
  assert.equal(unavailable('X', new Error('postgres://app:pw@db refused')).message, 'X: postgres://***@db refused');
  assert.equal(unavailable('X', new Error('see x://app:pw@db')).message, 'X: see x://***@db');
  // Whatever was thrown: undefined, null, a string; a driver code only when there is one.
  for (const thrown of [undefined, null, 'socket closed', new Error('plain')]) {
    const e = unavailable('Redis', thrown);
    assert.equal(e.code, 'STORE_UNAVAILABLE');
    assert.equal(Object.hasOwn(e, 'driverCode'), false, String(thrown));
  }
  assert.equal(unavailable('Redis', undefined).message, 'Redis: undefined');
  // A decoder that throws something that is not an Error.
  const odd = decodeStored(
    () => {
      throw undefined;
    },
    new Uint8Array(),
    ['k'],
    true,
  );
  assert.equal(odd.problem, 'undefined');
  // A long bad namespace is quoted, cut to 80 characters.
  assert.throws(() => checkNamespace('é'.repeat(300)), (e) => e.message.split('got ')[1].length === 80);
});

test('credentials after any scheme are hidden (one with +), and a thrown string with them becomes an Error named Error', () => {
  assert.equal(unavailable('X', new Error('bad redis+sentinel://u:pw@h')).message, 'X: bad redis+sentinel://***@h');
  const e = unavailable('X', 'postgres://u:pw@h refused');
  assert.equal(e.cause.name, 'Error');
  assert.equal(e.cause.code, undefined);
  assert.equal(e.cause.message, 'postgres://***@h refused');
});
