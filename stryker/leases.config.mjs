// StrykerJS over the lease code (js/leases/): the tests that pin its
// timing and its handles. Run by `npm run mutants` (scripts/mutants.sh).
import { base } from './base.mjs';

export default base({
  name: 'leases',
  mutate: ['js/leases/*.mjs'],
  testFiles: ['tests/js/lease-units.test.mjs', 'tests/js/lease-timing.test.mjs', 'tests/js/hardening.test.mjs'],
});
