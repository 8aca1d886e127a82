import { openKv } from '@deno/kv';
const kv = await openKv('/tmp/prof/r.sqlite');
await kv.set(['a'], { x: 1 });
const e = await kv.get(['a']);
const N = 100000;
for (const [obj, names] of [[kv, ['__connectorStateKv', '__connectorStateEngine', 'get', 'set', 'delete', 'atomic', 'list', '__connectorStateKind']], [e, ['versionstamp', 'value', 'key']]]) {
  for (const n of names) {
    let t = performance.now();
    for (let i = 0; i < N; i++) Reflect.get(obj, n);
    console.log(n, ((performance.now() - t) * 1e6 / N).toFixed(0), 'ns');
  }
}
console.log(Object.getPrototypeOf(kv)?.constructor?.name, typeof kv, Object.keys(kv).slice(0, 10));
