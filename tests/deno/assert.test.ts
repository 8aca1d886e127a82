// The assertion helper itself: it must tell apart what a JSON comparison
// cannot (the old helper compared JSON.stringify output, so every check
// below passed there and a lost Map or Date went unseen).
import { assertEquals } from './assert.ts';
import strict from 'node:assert/strict';

const differs = (actual: unknown, expected: unknown) => strict.throws(() => assertEquals(actual, expected));

Deno.test('assertEquals sees a lost Map, a Set, a Date turned string, a BigInt and a prototype', () => {
  differs(new Map([[1, 2]]), {});
  differs(new Map([[1, 2]]), new Map([[1, 3]]));
  differs(new Set([1]), new Set([2]));
  differs(new Date(0), new Date(0).toISOString());
  differs(new Date(0), new Date(1));
  differs({ n: 1n }, { n: 1 });
  differs({ a: undefined }, {});
  differs(Object.create(null), {});
  assertEquals(new Map([[1, new Date(5)]]), new Map([[1, new Date(5)]]));
  assertEquals({ big: 2n ** 70n, set: new Set(['a']) }, { big: 2n ** 70n, set: new Set(['a']) });
});
