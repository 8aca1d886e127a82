// Assertions for the Deno tests: Node's strict assertions, which Deno
// provides as node:assert/strict. Their deep comparison knows Map, Set, Date,
// BigInt and prototypes (a lost Map or a Date turned string fails), unlike a
// comparison of JSON.stringify output.
import strict from 'node:assert/strict';

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  strict.ok(condition, message);
}

export function assertEquals<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  strict.deepStrictEqual(actual, expected, message);
}

export async function assertRejects(fn: () => Promise<unknown>, errorClass: new (...args: never[]) => Error): Promise<void> {
  await strict.rejects(fn, (e: unknown) => {
    if (e instanceof errorClass) return true;
    throw new Error(`rejected with the wrong error: ${e}`);
  });
}
