/* @ts-self-types="./testing.d.ts" */
// Entry point 'connector-state/testing': a Versori-style context, store,
// clock and log for unit tests of workflows, without the platform.
export * from './testing/harness.mjs';
