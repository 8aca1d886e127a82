// connector-state/testing: a Versori-style workflow context for unit tests,
// without the platform. Plain JavaScript, no wasm: it stands in for what the
// platform hands a workflow (ctx.openKv, ctx.log), so workflows written
// against it run unchanged on Versori.

/**
 * A clock tests move by hand. It starts at `start` (default: the real time
 * when the context was made) and only moves when told to.
 */
export function createClock(start = Date.now()) {
  let now = toMs(start, 'start');
  return {
    now: () => now,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError('clock.advance(ms) needs a non-negative number of milliseconds');
      now += ms;
      return now;
    },
    set(time) {
      now = toMs(time, 'time');
      return now;
    },
  };
}

function toMs(time, name) {
  const ms = time instanceof Date ? time.getTime() : time;
  if (!Number.isFinite(ms)) throw new TypeError(`${name} must be a Date or a number of milliseconds`);
  return ms;
}

/**
 * A log that keeps every entry for assertions, shaped like Versori's
 * (`info/warn/error/debug(message, context?)`).
 */
export function createLog(clock = createClock()) {
  const entries = [];
  const write = (level) => (message, context) => {
    entries.push({ level, message: String(message), context, at: clock.now() });
  };
  return {
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
    entries,
    /** Entries of `level` (or every level with null) whose message contains `text` (a string or RegExp). */
    find(level, text = '') {
      return entries.filter((e) => (level === null || e.level === level) && (text instanceof RegExp ? text.test(e.message) : e.message.includes(text)));
    },
    clear() {
      entries.length = 0;
    },
  };
}

/**
 * What Versori's KV throws for `get(key, { throwOnNotFound: true })` on a
 * key it does not hold (the Run SDK's `KVNotFoundError`).
 */
export class KVNotFoundError extends Error {
  constructor(key) {
    super(`key not found: ${key}`);
    this.name = 'KVNotFoundError';
    this.key = key;
  }
}

/**
 * Versori's KV is NATS KV: a key it takes is made of `A-Z a-z 0-9 _ - . = /`
 * only, does not start or end with `.` and has no empty `.`-separated token
 * (fc-connect-sdk 0.1.56's troubleshooting guide: "invalid key from NATS KV
 * ... Allowed characters: a-z A-Z 0-9 _ - . = /"; the NATS KV key rule). An
 * array key is its parts joined with `/`. Anything else is refused as the
 * host refuses it: `invalid key`, naming the key.
 */
export function versoriKey(key) {
  let text;
  if (typeof key === 'string') text = key;
  else if (Array.isArray(key) && key.length > 0 && key.every((p) => typeof p === 'string')) text = key.join('/');
  else throw new TypeError('a Versori KV key is a string or an array of strings');
  if (!/^[A-Za-z0-9_\-.=/]+$/.test(text) || text.startsWith('.') || text.endsWith('.') || text.includes('..')) {
    throw new Error(`nats: invalid key ${JSON.stringify(text)}`);
  }
  return text;
}

/**
 * A Versori-style KV store, as strict as the host: `get(key, { default,
 * throwOnNotFound })`, `set(key, value, { ttl }?)`, `delete(key)`; keys are
 * strings or string arrays (joined with `/`), refused unless NATS KV takes
 * them (see versoriKey; no switch turns this off); values are kept as JSON
 * text like the platform's (so a Map comes back as {} there too); `ttl` is
 * in seconds on `clock`. No compare-and-set, as on the platform.
 */
export function createVersoriKv(clock = createClock(), { writeDelayMs = 0, acknowledge = 'after-landing' } = {}) {
  if (!(Number.isFinite(writeDelayMs) && writeDelayMs >= 0)) throw new TypeError('writeDelayMs must be a non-negative number of milliseconds');
  if (acknowledge !== 'after-landing' && acknowledge !== 'at-once') throw new TypeError("acknowledge must be 'after-landing' or 'at-once'");
  const data = new Map();
  // Writes that take a while to land: each lands a random 0–writeDelayMs
  // ms after the call. With acknowledge 'after-landing' the call answers
  // once it has (an HTTP store answering after its database write); with
  // 'at-once' it answers at once and the write becomes visible later (a
  // replicated store). Reads are quick.
  const land = async (apply) => {
    if (writeDelayMs === 0) return apply();
    const landed = new Promise((resolve) => setTimeout(resolve, Math.random() * writeDelayMs)).then(apply);
    if (acknowledge === 'after-landing') await landed;
  };
  const id = versoriKey;
  const live = (slot) => slot && (slot.expiresAt === null || slot.expiresAt > clock.now());
  return {
    async get(key, options = {}) {
      const at = id(key);
      const slot = data.get(at);
      if (!live(slot)) {
        if (options?.throwOnNotFound) throw new KVNotFoundError(at);
        return options?.default;
      }
      return JSON.parse(slot.text);
    },
    async set(key, value, options = {}) {
      const text = JSON.stringify(value);
      if (text === undefined) throw new TypeError('a Versori KV value must be JSON-serialisable');
      const ttl = options.ttl;
      if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) throw new TypeError('ttl must be a positive number of seconds');
      const at = id(key);
      const slot = { key: at, text, expiresAt: ttl === undefined ? null : clock.now() + ttl * 1000 };
      await land(() => data.set(at, slot));
    },
    async delete(key) {
      const at = id(key);
      await land(() => data.delete(at));
    },
    /** Every live entry as { key, value }, for assertions. */
    entries() {
      return [...data.values()].filter(live).map((slot) => ({ key: slot.key, value: JSON.parse(slot.text) }));
    },
  };
}

const SCOPES = [':execution:', ':project:', ':workspace:', ':organization:', ':user:'];

/**
 * A Versori-style workflow context: `openKv(scope)` gives one store per
 * scope (the same object each time), `log` keeps entries, `clock` is
 * controllable, `data` is what the trigger passed.
 */
export function createVersoriContext({ data = {}, now = Date.now(), executionId = `exec-${Math.random().toString(36).slice(2, 10)}`, writeDelayMs = 0, acknowledge = 'after-landing' } = {}) {
  const clock = createClock(now);
  const stores = new Map();
  return {
    data,
    executionId,
    clock,
    log: createLog(clock),
    openKv(scope = ':project:') {
      if (!SCOPES.includes(scope)) throw new TypeError(`unknown KV scope ${JSON.stringify(scope)}: use one of ${SCOPES.join(', ')}`);
      if (!stores.has(scope)) stores.set(scope, createVersoriKv(clock, { writeDelayMs, acknowledge }));
      return stores.get(scope);
    },
  };
}
