#!/usr/bin/env node
// The closing lines of `npm test`: one row per test runner, read from the
// runner's own log. Usage: node scripts/summary.mjs kind=log ... where kind
// is cargo, wasm, node or deno. Exits 1 when any runner failed a test, ran
// no test at all, or left a summary this script cannot read: a runner that
// silently ran nothing must not pass.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const strip = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** Counts of one runner's log: { passed, failed, skipped, todo, ignored } or null if unreadable. */
export function parse(kind, text) {
  text = strip(text);
  const sum = (rows) => rows.reduce((acc, row) => {
    for (const [k, v] of Object.entries(row)) acc[k] = (acc[k] ?? 0) + v;
    return acc;
  }, { passed: 0, failed: 0, skipped: 0, todo: 0, ignored: 0 });
  if (kind === 'cargo' || kind === 'wasm') {
    // cargo prints "N measured;", wasm-bindgen-test does not.
    const rows = [...text.matchAll(/^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored;(?: \d+ measured;)? (\d+) filtered out/gm)]
      .map((m) => ({ passed: +m[1], failed: +m[2], ignored: +m[3], skipped: +m[4] }));
    return rows.length ? sum(rows) : null;
  }
  if (kind === 'node') {
    const last = (name) => {
      const all = [...text.matchAll(new RegExp(`^ℹ ${name} (\\d+)$`, 'gm'))];
      return all.length ? +all[all.length - 1][1] : null;
    };
    const counts = { tests: last('tests'), passed: last('pass'), failed: last('fail'), cancelled: last('cancelled'), skipped: last('skipped'), todo: last('todo') };
    if (Object.values(counts).some((n) => n === null)) return null;
    if (counts.passed + counts.failed + counts.cancelled + counts.skipped + counts.todo !== counts.tests) return null;
    return { passed: counts.passed, failed: counts.failed + counts.cancelled, skipped: counts.skipped, todo: counts.todo, ignored: 0 };
  }
  if (kind === 'deno') {
    const all = [...text.matchAll(/^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?(?: \| (\d+) filtered out)?/gm)];
    if (!all.length) return null;
    const m = all[all.length - 1];
    return { passed: +m[1], failed: +m[2], skipped: +(m[4] ?? 0), todo: 0, ignored: +(m[3] ?? 0) };
  }
  throw new Error(`unknown runner kind ${kind}`);
}

/** The table and the verdict over every runner. */
export function summarize(runs) {
  const lines = [];
  let ok = true;
  const total = { passed: 0, failed: 0, skipped: 0, todo: 0, ignored: 0 };
  for (const { name, kind, text } of runs) {
    const c = parse(kind, text);
    if (!c) {
      ok = false;
      lines.push(`${name}: FAILED: no test summary could be read from its output`);
      continue;
    }
    for (const k of Object.keys(total)) total[k] += c[k];
    const problems = [];
    if (c.failed > 0) problems.push(`${c.failed} failed`);
    if (c.passed === 0) problems.push('ran no tests');
    if (problems.length) ok = false;
    lines.push(`${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped/filtered, ${c.todo} todo, ${c.ignored} ignored${problems.length ? `  <- ${problems.join(', ')}` : ''}`);
  }
  lines.push(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped/filtered, ${total.todo} todo, ${total.ignored} ignored`);
  const quiet = total.skipped + total.todo + total.ignored;
  if (quiet > 0) {
    ok = false;
    lines.push(`FAILED: ${quiet} tests were skipped, filtered, todo or ignored; every test must run`);
  }
  return { ok, text: lines.join('\n') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = process.argv.slice(2).map((arg) => {
    const [label, path] = arg.split('=');
    const [name, kind] = label.includes(':') ? label.split(':') : [label, label];
    let text = '';
    try { text = readFileSync(path, 'utf8'); } catch { /* reported as unreadable */ }
    return { name, kind, text };
  });
  const { ok, text } = summarize(runs);
  console.log(text);
  process.exit(ok ? 0 : 1);
}
