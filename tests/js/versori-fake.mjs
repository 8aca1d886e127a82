// The Versori-style host the tests use: the package's own test harness
// (connector-state/testing), imported by path so Deno can load it too.
export { createVersoriContext as fakeVersoriContext, createVersoriKv as versoriKv } from '../../js/testing.mjs';
