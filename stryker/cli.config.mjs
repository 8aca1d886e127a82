// StrykerJS over the command line (inspect, the actions, copy).
import { base } from './base.mjs';

export default base({
  name: 'cli',
  mutate: ['js/cli/*.mjs'],
  testFiles: ['tests/js/cli.test.mjs', 'tests/js/cli-servers.test.mjs'],
  breakAt: 80,
  timeoutMS: 180_000,
});
