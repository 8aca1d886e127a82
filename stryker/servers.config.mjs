// StrykerJS over the PostgreSQL and Redis stores (js/stores/server,
// postgres, postgres-sql, redis, redis-scripts): their contract with Deno
// KV's semantics, the differential runs against the embedded store, expiry,
// no resend, damaged rows, and opening beside running workers. Each test file
// starts its own servers on 127.0.0.1.
import { base } from './base.mjs';

export default base({
  name: 'servers',
  mutate: ['js/stores/server.mjs', 'js/stores/bytes.mjs', 'js/stores/postgres.mjs', 'js/stores/postgres-sql.mjs', 'js/stores/postgres-sum.mjs', 'js/stores/redis.mjs', 'js/stores/redis-scripts.mjs'],
  testFiles: [
    'tests/js/server-helpers.test.mjs',
    'tests/js/server-stores.test.mjs',
    'tests/js/crossings.test.mjs',
    'tests/js/servers-contract.test.mjs',
    'tests/js/servers-hardening.test.mjs',
    'tests/js/kv-servers.test.mjs',
  ],
  timeoutMS: 180_000,
});
