// Deno KV's atomic operation over a backend: checks, mutations and their
// limits, committed in one call.
import { checkExpireIn, checkKeyShape, checkOptions, closedError, encodeKey, MAX_CHECKS, MAX_MUTATIONS, MAX_TOTAL_KEY_BYTES, MAX_TOTAL_MUTATION_BYTES, MAX_VALUE_BYTES, valueSize } from './limits.mjs';
import { KvU64 } from './u64.mjs';

export class KvAtomicOperation {
  #backend;
  #isClosed;
  #checks = [];
  #mutations = [];

  constructor(backend, isClosed) {
    this.#backend = backend;
    this.#isClosed = isClosed;
  }

  check(...checks) {
    for (const c of checks) {
      if (c === null || typeof c !== 'object') throw new TypeError('a check must be { key, versionstamp }');
      checkKeyShape(c.key);
      const v = c.versionstamp;
      if (!(v === null || (typeof v === 'string' && /^[0-9a-f]{20}$/i.test(v)))) {
        throw new TypeError('Invalid check: a versionstamp is null or 20 hex digits');
      }
      this.#checks.push({ key: c.key, versionstamp: v });
    }
    return this;
  }

  mutate(...mutations) {
    for (const m of mutations) {
      if (m === null || typeof m !== 'object') throw new TypeError('a mutation must be { type, key, value? }');
      checkKeyShape(m.key);
      switch (m.type) {
        case 'set':
          if (!('value' in m)) throw new TypeError("Invalid mutation 'set' without value");
          this.#mutations.push({ type: 'set', key: m.key, value: m.value, expireIn: checkExpireIn(m) });
          break;
        case 'delete':
          if ('value' in m) throw new TypeError("Invalid mutation 'delete' with value");
          this.#mutations.push({ type: 'delete', key: m.key });
          break;
        case 'sum':
        case 'min':
        case 'max':
          if (!(m.value instanceof KvU64)) {
            // Deno's own words, which differ between sum and min / max.
            const kind = m.value === null ? 'Null' : m.value === undefined ? 'Undefined' : (m.value.constructor?.name ?? typeof m.value);
            throw new TypeError(m.type === 'sum' ? `Cannot sum KvU64 with ${kind}` : `Failed to perform '${m.type}' mutation on a non-U64 operand`);
          }
          this.#mutations.push({ type: m.type, key: m.key, value: m.value });
          break;
        default:
          throw new TypeError('Invalid mutation type');
      }
    }
    return this;
  }

  set(key, value, options) {
    checkOptions(options, 'options');
    return this.mutate({ type: 'set', key, value, expireIn: options?.expireIn });
  }

  delete(key) {
    return this.mutate({ type: 'delete', key });
  }

  /** Adds the bigint `n` to the `KvU64` at `key` (wrapping at 2^64). */
  sum(key, n) {
    return this.mutate({ type: 'sum', key, value: new KvU64(n) });
  }

  min(key, n) {
    return this.mutate({ type: 'min', key, value: new KvU64(n) });
  }

  max(key, n) {
    return this.mutate({ type: 'max', key, value: new KvU64(n) });
  }

  async commit() {
    if (this.#isClosed()) throw closedError();
    if (this.#checks.length > MAX_CHECKS) throw new TypeError(`Too many checks (max ${MAX_CHECKS})`);
    if (this.#mutations.length > MAX_MUTATIONS) throw new TypeError(`Too many mutations (max ${MAX_MUTATIONS})`);
    // Every key is at most 2,049 bytes and every value 65,536 (both checked
    // one by one): the totals can only be exceeded by larger commits, so
    // only those are measured key by key.
    const keys = this.#checks.length + this.#mutations.length;
    // Stryker disable next-line ConditionalExpression: measuring keys that cannot reach a limit only costs time (tests hold the limits at their boundaries)
    const measureKeys = keys * 2049 > MAX_TOTAL_KEY_BYTES || this.#mutations.length * (2049 + MAX_VALUE_BYTES) > MAX_TOTAL_MUTATION_BYTES;
    let keyBytes = 0;
    let mutationBytes = 0;
    if (measureKeys) { for (const c of this.#checks) keyBytes += encodeKey(c.key, 'read').length; }
    for (const m of this.#mutations) {
      const size = measureKeys ? encodeKey(m.key, 'write').length : 0;
      keyBytes += size;
      mutationBytes += size + (m.type === 'set' ? valueSize(m.value) : 0);
    }
    if (keyBytes > MAX_TOTAL_KEY_BYTES) throw new TypeError(`Total key size too large (max ${MAX_TOTAL_KEY_BYTES} bytes)`);
    if (mutationBytes > MAX_TOTAL_MUTATION_BYTES) throw new TypeError(`Total mutation size too large (max ${MAX_TOTAL_MUTATION_BYTES} bytes)`);
    return this.#backend.commit(this.#checks, this.#mutations);
  }
}
