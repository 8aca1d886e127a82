// Minimal assertions, so the Deno tests need nothing from the network.
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEquals<T>(actual: T, expected: T): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`expected ${e}, got ${a}`);
}

export async function assertRejects(fn: () => Promise<unknown>, errorClass: new (...args: never[]) => Error): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof errorClass) return;
    throw new Error(`rejected with the wrong error: ${e}`);
  }
  throw new Error('expected a rejection');
}
