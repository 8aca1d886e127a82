// Fills the generated parts of docs/reliability.md and docs/speed.md from
// bench/results/*.json (what `npm run reliability` and `npm run bench`
// record), so no figure of those pages is typed by hand.
//   node scripts/docs.mjs          rewrite the pages
//   node scripts/docs.mjs --check  exit 1 when a page differs from its results
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { render as reliabilityTable } from '../tests/reliability/render.mjs';
import { markdown as benchTable } from '../bench/render.mjs';

const root = new URL('..', import.meta.url);
const json = (path) => JSON.parse(readFileSync(new URL(path, root), 'utf8'));

/** The generated regions: page, results file, and what they render to. */
export function regions() {
  const reliability = json('bench/results/reliability.json');
  const bench = json('bench/results/compare.json');
  // The run before (kept by bench/compare.mjs): its ratios beside this run's.
  const previous = existsSync(new URL('bench/results/compare-previous.json', root)) ? json('bench/results/compare-previous.json') : null;
  const ran = (r) => `From the run of ${r.when.slice(0, 10)} (Node.js ${r.node}).`;
  const beside = previous ? ` "previous run": ours / theirs in the run of ${previous.when.slice(0, 10)}.` : '';
  return [
    { page: 'docs/reliability.md', source: 'bench/results/reliability.json', text: `${ran(reliability)}\n\n${reliabilityTable(reliability)}` },
    { page: 'docs/speed.md', source: 'bench/results/compare.json', text: `${ran(bench)}${beside}\n\n${benchTable(bench.rows, previous?.rows)}\n\n${moduleLine(bench.module, previous?.module)}` },
  ];
}

const bytes = (n) => `${n.toLocaleString('en')} B`;
const ms = (m) => `${m.importMs.median.toFixed(1)} ms`;

/** The module's size and import time, with the previous run's beside them. */
function moduleLine(m, p) {
  const was = (now, then, show) => (then === undefined ? show(now) : `${show(now)} (previous run: ${show(then)})`);
  const st = m.startup;
  const pst = p?.startup ?? {};
  return [
    `Module: ${was(m.wasmBytes, p?.wasmBytes, bytes)} of wasm, ${was(m.wasmGzip, p?.wasmGzip, bytes)} gzipped; ${was(m.glueBytes, p?.glueBytes, bytes)} of JS glue.`,
    `Import to a usable \`StateService\`, median of ${st['node: connector-state'].importMs.runs} fresh processes, from the child's first import (runtime boot excluded; ESM loader start-up included):`,
    `${was(st['node: connector-state'], pst['node: connector-state'], ms)} in Node.js, ${was(st['deno: connector-state'], pst['deno: connector-state'], ms)} in Deno (fc-connect-sdk 0.1.56: ${ms(st['node: fc-connect-sdk 0.1.56'])} in Node.js, most of it its dependencies).`,
  ].join('\n');
}

const begin = (source) => `<!-- generated from ${source} by scripts/docs.mjs: edit the results, not this table -->`;
const end = '<!-- end of generated part -->';

/** `page`'s text with its generated region filled in. */
export function filled(text, { source, text: generated }) {
  const a = text.indexOf(begin(source));
  const b = text.indexOf(end, a);
  if (a < 0 || b < 0) throw new Error(`no generated region for ${source} in the page`);
  return `${text.slice(0, a)}${begin(source)}\n${generated}\n${text.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const region of regions()) {
    const url = new URL(region.page, root);
    const text = readFileSync(url, 'utf8');
    const next = filled(text, region);
    if (next === text) continue;
    if (check) {
      console.error(`${region.page} differs from ${region.source}: run node scripts/docs.mjs`);
      stale++;
    } else {
      writeFileSync(url, next);
      console.log(`${region.page} rewritten from ${region.source}`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}
