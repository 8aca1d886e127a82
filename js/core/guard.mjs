// Every method of the wasm classes goes through here once, at load:
// - a rejection carries the caller's frames in its stack (V8's async stack
//   traces, taken when the rejection reaches the caller's await), not only
//   the wasm and glue frames it was made in;
// - a call on an object after free() is a StateError CLOSED that names the
//   class and method, not wasm-bindgen's "null pointer passed to rust".
import { StateError } from './errors.mjs';

const FREED = /null pointer passed to rust|attempted to take ownership of Rust value while it was borrowed/;

function adopt(error, owner, method) {
  if (error instanceof StateError) return error;
  const message = error instanceof Error ? error.message : '';
  if (FREED.test(message)) {
    return new StateError('CLOSED', `${owner}.${method} was used after free(): its memory is released; make a new ${owner}`, { cause: error });
  }
  return error;
}

async function settled(promise, owner, method) {
  try {
    return await promise;
  } catch (error) {
    const adopted = adopt(error, owner, method);
    // Here, after the await, the stack holds the caller's async frames.
    if (adopted instanceof StateError && typeof Error.captureStackTrace === 'function') {
      Error.captureStackTrace(adopted, settled);
    }
    throw adopted;
  }
}

function guardFunction(fn, owner, method) {
  const guarded = {
    [method](...args) {
      let out;
      try {
        out = fn.apply(this, args);
      } catch (error) {
        throw adopt(error, owner, method);
      }
      return out instanceof Promise ? settled(out, owner, method) : out;
    },
  }[method];
  return guarded;
}

/** Wraps the methods and getters of `cls.prototype` in place (once). */
export function guard(cls, owner = cls.name) {
  const proto = cls.prototype;
  if (Object.hasOwn(proto, GUARDED)) return cls;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor' || name === 'free' || name.startsWith('__')) continue;
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (typeof d.value === 'function') d.value = guardFunction(d.value, owner, name);
    else if (typeof d.get === 'function') d.get = guardFunction(d.get, owner, name);
    else continue;
    Object.defineProperty(proto, name, d);
  }
  Object.defineProperty(proto, GUARDED, { value: true });
  return cls;
}

const GUARDED = Symbol('connector-state guarded');
