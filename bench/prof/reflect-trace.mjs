// Profiling aid: counts the Reflect.get calls the glue makes by property
// name, and the ones that throw (a throw costs a stack trace).
const orig = Reflect.get;
const stats = new Map();
Reflect.get = function (o, k) {
  const name = `${String(k)} on ${o === null || typeof o !== 'object' && typeof o !== 'function' ? `(${o === null ? 'null' : typeof o})` : o.constructor?.name}`;
  const s = stats.get(name) || { calls: 0, threw: 0 };
  stats.set(name, s);
  s.calls++;
  try { return orig(o, k); } catch (e) { s.threw++; throw e; }
};
process.on('exit', () => { for (const [k, s] of [...stats].sort((a, b) => b[1].calls - a[1].calls).slice(0, 15)) console.log(k.padEnd(45), s.calls, 'calls', s.threw, 'threw'); });
