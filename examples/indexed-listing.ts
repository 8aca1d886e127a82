// Pattern 6, indexed listing: list, filter, count and clean up processed
// files, in pages, on any store (Versori too, through its own index).
import { IndexedFileTracker, openKv } from 'connector-state';
import { createVersoriContext } from 'connector-state/testing';

for (const [label, kv] of [['embedded', await openKv()], ['versori', createVersoriContext().openKv(':project:')]] as const) {
  const files = new IndexedFileTracker(kv, { prefix: 'invoices' });
  for (let i = 0; i < 120; i++) await files.mark(`invoice-${String(i).padStart(3, '0')}.pdf`, { amount: i * 10 });

  let listed = 0;
  let pages = 0;
  let cursor: string | null = null;
  do {
    const page = await files.list({ limit: 50, cursor });
    listed += page.files.length;
    pages += 1;
    cursor = page.cursor;
  } while (cursor);

  const some = await files.list({ namePrefix: 'invoice-01' });
  const stats = await files.stats();
  const removed = await files.cleanup({ before: Date.now() + 1 });
  console.log(`${label}: ${listed} listed in ${pages} pages, ${some.files.length} match 'invoice-01', ${stats.totalFiles} counted, ${removed.deleted} cleaned up`);
  if (listed !== 120 || removed.deleted !== 120) throw new Error('listing lost a file');
}

// Prints (tests/js/examples.test.mjs checks it, in Node and in Deno; … is any text):
// → embedded: 120 listed in 3 pages, 10 match 'invoice-01', 120 counted, 120 cleaned up
// → versori: 120 listed in 3 pages, 10 match 'invoice-01', 120 counted, 120 cleaned up
