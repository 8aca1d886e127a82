// js/index.d.ts is written by hand; pkg/connector_state.d.ts is what
// wasm-bindgen generates from the Rust exports. Every class both describe
// must have the same members, and the StateErrorCode union must be the
// core's error codes (src/error.rs), so neither drifts from the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** class name → sorted member names (methods and properties; not constructor, free or dispose). */
export function classMembers(dts) {
  const out = new Map();
  for (const [, name, body] of dts.matchAll(/export (?:declare )?class (\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
    const members = new Set();
    let text = body.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    // Parameter lists (some span lines) hold no members.
    for (let before = ''; before !== text;) {
      before = text;
      text = text.replace(/\([^()]*\)/g, '⟨⟩');
    }
    for (const [, member] of text.matchAll(/^\s+(?:private |static |readonly |get )*(\w+)\??(?:<[^>]*>)?[⟨:]/gm)) {
      if (!['constructor', 'free'].includes(member) && !member.startsWith('__')) members.add(member);
    }
    out.set(name, [...members].sort());
  }
  return out;
}

test('every class of index.d.ts that the wasm module exports has the members the module has', () => {
  const ours = classMembers(read('js/index.d.ts'));
  const generated = classMembers(read('pkg/connector_state.d.ts'));
  const internal = new Set(['EmbeddedEngine']);
  // Members js/core/api.mjs adds in its subclasses (leases, in js/leases/).
  const addedInJs = { StateService: ['lock', 'withLock'] };
  let compared = 0;
  for (const [name, members] of generated) {
    if (internal.has(name)) continue;
    assert.ok(ours.has(name), `index.d.ts lacks class ${name}`);
    const declared = ours.get(name).filter((m) => !(addedInJs[name] ?? []).includes(m));
    assert.deepEqual(declared, members, `members of ${name}`);
    compared += 1;
  }
  assert.ok(compared >= 10, `${compared} classes compared`);
});

test('the StateErrorCode union is exactly the core\'s error codes', () => {
  const union = read('js/index.d.ts').match(/export type StateErrorCode =([^;]*);/)[1];
  const declared = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort();
  const core = [...read('src/error.rs').matchAll(/ErrorCode::\w+ => "([A-Z_]+)"/g)].map((m) => m[1]).sort();
  assert.ok(core.length >= 12);
  assert.deepEqual(declared, core);
});

test('the comparison notices a missing or extra member', () => {
  const a = classMembers('export class A {\n  x(): void;\n  readonly y: number;\n  free(): void;\n}');
  assert.deepEqual(a.get('A'), ['x', 'y']);
  const b = classMembers('export class A {\n  x(): void;\n}');
  assert.notDeepEqual(a.get('A'), b.get('A'));
});

/** The value names a .d.ts exports (classes, functions, consts; not types). */
export function declaredValues(dts) {
  const names = new Set();
  for (const [, name] of dts.matchAll(/^export (?:declare )?(?:class|function|const|let|abstract class) (\w+)/gm)) names.add(name);
  for (const [, list] of dts.matchAll(/^export \{([^}]*)\}(?! from)/gm)) for (const n of list.split(',')) if (n.trim() && !n.includes('type ')) names.add(n.trim().split(' as ').pop());
  return [...names].sort();
}

test('each entry point exports at run time exactly the values its .d.ts declares', async () => {
  const entries = [
    ['js/node.mjs', 'js/index.d.ts'],
    ['js/testing.mjs', 'js/testing.d.ts'],
    ['js/postgres.mjs', 'js/postgres.d.ts'],
    ['js/redis.mjs', 'js/redis.d.ts'],
  ];
  for (const [module, dts] of entries) {
    const runtime = Object.keys(await import(`../../${module}`)).filter((n) => !n.startsWith('__')).sort();
    assert.deepEqual(declaredValues(read(dts)), runtime, `${module} against ${dts}`);
  }
  // The check sees a value declared but not exported, and one exported but not declared.
  assert.deepEqual(declaredValues('export class A {}\nexport function b(): void;\nexport type C = 1;\nexport interface D {}\n'), ['A', 'b']);
});
