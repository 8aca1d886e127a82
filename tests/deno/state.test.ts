// The package in Deno, against Deno's own KV (Deno.openKv).
import { assert, assertEquals, assertRejects } from './assert.ts';
import { StateService, FileTracker, VersoriFileTracker, StateError, openKv, describeStore } from 'connector-state';

Deno.test('locks are exclusive on Deno.openKv', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    assertEquals(describeStore(kv).guarantee, 'exact');
    const services = Array.from({ length: 20 }, () => new StateService());
    let last = 0;
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(services.map((s) => s.acquireLock('deno', kv, 1)));
      assertEquals(results.filter(Boolean).length, 1);
      const winner = services[results.indexOf(true)];
      const token = winner.getLockToken('deno')!;
      assert(token > last);
      last = token;
      assert(await winner.releaseLock('deno', kv));
    }
  } finally {
    kv.close();
  }
});

Deno.test('files and sync state on Deno.openKv', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const s = new StateService(console);
    await s.updateSyncState(kv, [{ fileName: 'a.csv', lastModified: '2026-01-01T00:00:00.000Z', recordCount: 2 }], 'wf');
    assertEquals(await s.isFileProcessed(kv, 'a.csv', 'wf'), true);
    assertEquals((await s.getMetrics(kv, 'wf')).totalFiles, 1);
    const files = new VersoriFileTracker(kv, 'deno');
    await files.markFileProcessed('x y.csv', { n: 1 });
    assertEquals(await files.wasFileProcessed('x y.csv'), true);
    assertEquals(await files.wasFileProcessed('x_y.csv'), false);
    const claims = await Promise.all(Array.from({ length: 10 }, () => new FileTracker(kv, 'deno').claim('c.csv')));
    assertEquals(claims.filter((c) => c.claimed).length, 1);
    await assertRejects(() => s.isFileProcessed(kv, ''), StateError);
  } finally {
    kv.close();
  }
});

Deno.test('openKv() gives the embedded store in Deno', async () => {
  const kv = await openKv();
  const s = new StateService();
  assert(await s.acquireLock('embedded', kv, 1));
  assertEquals(await s.acquireLock('embedded', kv, 1), false);
});

Deno.test('a 1 MiB checkpoint with a Map round-trips on Deno.openKv', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const { CheckpointStore } = await import('connector-state');
    const rows = Array.from({ length: 30_000 }, (_, i) => ({ id: i, note: `row ${i} é ✓ "q"` }));
    const data = { rows, index: new Map(rows.slice(0, 100).map((r) => [r.id, new Date(r.id)])) };
    const saved = await new CheckpointStore(kv).open('big').save(data, { position: 20_000 });
    assert(saved.bytes > 1024 * 1024 && saved.chunks > 10);
    const loaded = await new CheckpointStore(kv).open('big').load();
    assertEquals(loaded.data, data);
    assertEquals((await new CheckpointStore(kv).open('big', { version: 2 }).load()).reason, 'version-mismatch');
  } finally {
    kv.close();
  }
});
