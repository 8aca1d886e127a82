// StrykerJS over the timed Versori path's JavaScript: the Versori test
// host (js/testing.mjs) and the Versori classes of js/api.mjs.
import { base } from './base.mjs';

export default base({
  name: 'versori',
  mutate: ['js/testing.mjs', 'js/api.mjs'],
  testFiles: ['tests/js/versori-timed.test.mjs', 'tests/js/versori-guide.test.mjs', 'tests/js/file-tracker.test.mjs', 'tests/js/indexed.test.mjs'],
});
