// StrykerJS over Deno KV's interface as the package's stores have it
// (js/stores/front, atomic, list, limits, u64) and the embedded store: the
// conformance runs (the same cases on @deno/kv), the embedded store's own
// tests, hostile input, and the differential runs against @deno/kv. The PostgreSQL and Redis stores: servers.config.mjs.
import { base } from './base.mjs';

export default base({
  name: 'stores',
  mutate: ['js/stores/front.mjs', 'js/stores/atomic.mjs', 'js/stores/list.mjs', 'js/stores/limits.mjs', 'js/stores/u64.mjs', 'js/stores/memory.mjs'],
  testFiles: [
    'tests/js/kv-front.test.mjs',
    'tests/js/kv-embedded.test.mjs',
    'tests/js/kv-hostile.test.mjs',
    'tests/js/kv-conformance.test.mjs',
    'tests/js/kv-differential.test.mjs',
  ],
  timeoutMS: 120_000,
});
