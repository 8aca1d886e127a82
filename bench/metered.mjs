// A view of a store (Deno KV-like or Versori-style) that counts the calls
// made through it and the JSON bytes of keys and values it writes. An
// atomic commit is one call.
export function metered(kv) {
  const m = { calls: 0, bytes: 0 };
  const size = (key, value) => JSON.stringify(key).length + (value === undefined ? 0 : JSON.stringify(value).length);
  const view = {
    get: (...a) => { m.calls++; return kv.get(...a); },
    set: (k, v, o) => { m.calls++; m.bytes += size(k, v); return kv.set(k, v, o); },
    delete: (k) => { m.calls++; m.bytes += size(k); return kv.delete(k); },
  };
  if (kv.getMany) view.getMany = (...a) => { m.calls++; return kv.getMany(...a); };
  if (kv.list) view.list = (...a) => { m.calls++; return kv.list(...a); };
  if (kv.atomic) {
    view.atomic = () => {
      const op = kv.atomic();
      let bytes = 0;
      const b = {
        check: (...a) => { op.check(...a); return b; },
        set: (k, v, o) => { bytes += size(k, v); op.set(k, v, o); return b; },
        delete: (k) => { bytes += size(k); op.delete(k); return b; },
        sum: (...a) => { op.sum(...a); return b; },
        commit: () => { m.calls++; m.bytes += bytes; return op.commit(); },
      };
      return b;
    };
  }
  return { view, m };
}
