// StrykerJS over the timed Versori path's JavaScript: the Versori test
// host (js/testing/harness.mjs, as strict as NATS KV) and the Versori classes and
// lease wrappers of js/core/api.mjs. Fast files first: a mutant they kill never
// reaches the slow timing file.
import { base } from './base.mjs';

export default base({
  name: 'versori',
  mutate: ['js/testing/harness.mjs', 'js/core/api.mjs'],
  testFiles: [
    'tests/js/testing-harness.test.mjs',
    'tests/js/api.test.mjs',
    'tests/js/lease-units.test.mjs',
    'tests/js/versori-keys.test.mjs',
    'tests/js/versori-guide.test.mjs',
    'tests/js/indexed.test.mjs',
    'tests/js/file-tracker.test.mjs',
    'tests/js/versori-timed.test.mjs',
  ],
});
