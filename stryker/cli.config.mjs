// StrykerJS over the command line (inspect, the actions, copy, the bin
// script). scripts/mutants.sh sets CONNECTOR_STATE_CLI_IN_PROCESS=1 for this
// run: the CLI tests then run the command line in their own process
// (tests/js/cli-process.mjs), so coverage per test file works and a
// mutant runs only the files that reach it.
import { base } from './base.mjs';

export default base({
  name: 'cli',
  mutate: ['js/cli/*.mjs'],
  testFiles: ['tests/js/cli-units.test.mjs', 'tests/js/cli-report.test.mjs', 'tests/js/cli.test.mjs', 'tests/js/cli-servers.test.mjs'],
  breakAt: 80,
  timeoutMS: 180_000,
});
