// Pattern 1, file tracking: every file is processed once, even when runs
// overlap. A claim decides who processes a file; complete() records it.
import { FileTracker, VersoriFileTracker, openKv } from 'connector-state';
import { createVersoriContext } from 'connector-state/testing';

const kv = await openKv(); // embedded store; openKv('state.sqlite') or Deno.openKv() in production
const incoming = ['orders-1.csv', 'orders-2.csv', 'orders 3.csv'];

async function run(label: string): Promise<string[]> {
  const files = new FileTracker(kv, { prefix: 'orders' });
  const done: string[] = [];
  for (const name of incoming) {
    const claim = await files.claim(name, { ttlMs: 10 * 60_000 });
    if (!claim.claimed) continue; // processed already, or another run has it
    await files.complete(name, { recordCount: 10, run: label });
    done.push(name);
  }
  return done;
}

// Two runs at once: each file goes to exactly one of them.
const [a, b] = await Promise.all([run('a'), run('b')]);
console.log(`run a: ${a.length} files, run b: ${b.length} files`);
if (a.length + b.length !== incoming.length) throw new Error('a file was processed twice or not at all');
console.log(`third run: ${(await run('c')).length} files (all done already)`);

// On Versori, the 0.1.56 names work unchanged (the context here is the local test harness).
const ctx = createVersoriContext();
const tracker = new VersoriFileTracker(ctx.openKv(':project:'), 'inventory-ingestion');
if (!(await tracker.wasFileProcessed('stock.csv'))) await tracker.markFileProcessed('stock.csv', { recordCount: 3 });
console.log(`versori: stock.csv processed = ${await tracker.wasFileProcessed('stock.csv')}`);

// Prints (tests/js/examples.test.mjs checks it, in Node and in Deno; … is any text):
// → run a: 2 files, run b: 1 files
// → third run: 0 files (all done already)
// → versori: stock.csv processed = true
