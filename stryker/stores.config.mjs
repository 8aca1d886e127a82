// StrykerJS over the Deno KV front and the PostgreSQL and Redis stores:
// conformance, the differential runs against the embedded store, expiry,
// no resend, damaged rows, and opening beside running workers.
import { base } from './base.mjs';

export default base({
  name: 'stores',
  mutate: ['js/stores/*.mjs', '!js/stores/v8.mjs', '!js/stores/embedded.mjs'],
  testFiles: [
    'tests/js/kv-embedded.test.mjs',
    'tests/js/kv-hostile.test.mjs',
    'tests/js/kv-conformance.test.mjs',
    'tests/js/servers-contract.test.mjs',
    'tests/js/servers-hardening.test.mjs',
    'tests/js/kv-servers.test.mjs',
  ],
  timeoutMS: 180_000,
});
