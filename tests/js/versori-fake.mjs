// A Versori-style host for tests, runtime-neutral (Node and Deno import it).

/** A Versori-style host: ctx.openKv(scope) with a separate store per scope,
 *  values JSON-encoded like the platform, and a log that keeps entries. */
export function fakeVersoriContext() {
  const scopes = new Map();
  const entries = [];
  const record = (level) => (message, context) => entries.push({ level, message, context });
  return {
    log: { info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug'), entries },
    openKv(scope = ':project:') {
      if (!scopes.has(scope)) scopes.set(scope, versoriKv());
      return scopes.get(scope);
    },
  };
}

export function versoriKv() {
  const data = new Map();
  const id = (key) => (typeof key === 'string' ? `s:${key}` : `a:${JSON.stringify(key)}`);
  return {
    data,
    async get(key) {
      const raw = data.get(id(key));
      return raw === undefined ? undefined : JSON.parse(raw);
    },
    async set(key, value) {
      data.set(id(key), JSON.stringify(value));
    },
    async delete(key) {
      data.delete(id(key));
    },
  };
}
