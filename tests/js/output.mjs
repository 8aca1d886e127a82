// Documented output against real output, for the README and the examples:
// a `// →` comment shows what the line before it (or the line it ends) prints.
import assert from 'node:assert/strict';

/**
 * What a block documents it prints: the text after each `// →` (several on
 * one line are joined by `, then →`), in order. Whitespace is collapsed, so
 * an object Node prints over several lines still matches.
 */
export function expectedOutput(code) {
  const out = [];
  for (const line of code.split('\n')) {
    const at = line.indexOf('// → ');
    if (at < 0) continue;
    out.push(...line.slice(at + 5).split(/,? then → /).map((t) => t.trim()));
  }
  return out;
}
const squash = (text) => text.replace(/\s+/g, ' ').trim();

/**
 * Asserts that `stdout` shows each expected output, in order, each as one or
 * more whole lines. In an expectation, `…` stands for any text (a time, a
 * token that differs on every run). Deno prints strings inside arrays with
 * double quotes where Node uses single ones; `anyQuotes` accepts both.
 */
export function assertPrints(stdout, expected, { anyQuotes = false, exact = false } = {}) {
  const quotes = (t) => (anyQuotes ? t.replace(/"/g, "'") : t);
  const lines = quotes(stdout).split('\n').map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  let from = 0;
  for (const want of expected) {
    const end = findLines(lines, quotes(squash(want)), from, exact);
    assert.ok(end >= 0, `expected it to print ${JSON.stringify(want)} (in this order${exact ? ', nothing else between' : ''}); it printed:\n${stdout}`);
    from = end;
  }
  if (exact) assert.equal(lines.slice(from).join('\n'), '', `it printed more than documented:\n${stdout}`);
}

/** Index just past the lines (from `from` on) that, joined by spaces, match `want`; -1 if none. */
function findLines(lines, want, from, exact) {
  const pattern = new RegExp(`^${want.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+?')}$`);
  for (let start = from; start < (exact ? from + 1 : lines.length); start++) {
    let joined = '';
    for (let end = start; end < lines.length && end < start + 40; end++) {
      joined = squash(`${joined} ${lines[end]}`);
      if (pattern.test(joined)) return end + 1;
    }
  }
  return -1;
}

