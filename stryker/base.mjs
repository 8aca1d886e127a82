// What every StrykerJS run of scripts/mutants.sh shares: the tap runner
// (each test file runs under `node`, node:test printing TAP), coverage per
// test file (a mutant runs only the files that reach it), the sandbox
// without the Rust build, and a break threshold: the run fails below it.
export function base({ name, mutate, testFiles, breakAt = 90, timeoutMS = 60_000 }) {
  return {
    $schema: '../node_modules/@stryker-mutator/core/schema/stryker-schema.json',
    packageManager: 'npm',
    plugins: ['@stryker-mutator/tap-runner'],
    testRunner: 'tap',
    tap: {
      testFiles,
      nodeArgs: ['--test-reporter=tap'],
    },
    coverageAnalysis: 'perTest',
    mutate,
    concurrency: 2,
    timeoutMS,
    thresholds: { high: 95, low: breakAt, break: breakAt },
    reporters: ['clear-text', 'progress', 'json'],
    jsonReporter: { fileName: `mutants.out/stryker-${name}.json` },
    tempDirName: `.stryker-tmp/${name}`,
    cleanTempDir: 'always',
    ignorePatterns: ['/target', '/bench', '/mutants.out', '/.stryker-tmp', '/proptest-regressions', '/src', '/examples', '*.log'],
  };
}
