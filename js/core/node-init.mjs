// Node.js and Deno (and Bun): the wasm module compiled from its file at
// import, the StateError class registered with it, and values measured as
// Deno KV measures them (V8's serialization). Imported by the Node entry and
// by the server stores, which need the module too.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { __registerErrorClass, initSync } from '../../pkg/connector_state.js';
import { StateError } from './errors.mjs';
import { setValueMeasure } from '../stores/limits.mjs';
import { encodeV8 } from '../stores/v8.mjs';

initSync({ module: readFileSync(new URL('../../pkg/connector_state_bg.wasm', import.meta.url)) });
__registerErrorClass(StateError);

/** True under Bun, whose node:v8 speaks JavaScriptCore's format. */
export const inBun = typeof globalThis.Bun !== 'undefined';
// node:v8 is loaded on the first value measured, not at import.
let v8;
const nodeV8Size = (value) => (v8 ??= createRequire(import.meta.url)('node:v8')).serialize(value).length;
// Under Bun, V8's format from js/stores/v8.mjs; a value it cannot write (a
// Date, a Map) is measured by Bun's own serializer: close to V8's size.
setValueMeasure(
  inBun
    ? (value) => {
      try {
        return encodeV8(value).length;
      } catch {
        return nodeV8Size(value);
      }
    }
    : nodeV8Size,
);
