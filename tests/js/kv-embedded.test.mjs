// Where the embedded store differs from Deno KV on purpose (README: "Where
// it differs"): an expired entry is gone at once, in get, getMany, list and
// checks, where Deno removes it up to about a minute later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKv } from 'connector-state';
import { withMovedTime } from './helpers.mjs';

test('an entry is gone the moment its expireIn has passed', async () => {
  await withMovedTime(async (clock) => {
    const kv = await openKv();
    // Minutes of moved time against the few real milliseconds the test takes.
    await kv.set(['t'], 'v', { expireIn: 120_000 });
    clock.advance(60_000);
    assert.equal((await kv.get(['t'])).value, 'v');
    clock.advance(60_001);
    assert.deepEqual(await kv.get(['t']), { key: ['t'], value: null, versionstamp: null });
    assert.deepEqual((await kv.getMany([['t']]))[0].value, null);
    const listed = [];
    for await (const e of kv.list({ prefix: [] })) listed.push(e);
    assert.deepEqual(listed, []);
    assert.ok((await kv.atomic().check({ key: ['t'], versionstamp: null }).set(['t'], 'again').commit()).ok, 'absent for checks too');
    assert.equal(kv.size, 1);
  });
});
