// The bench table, from the rows of `npm run bench` (bench/results/compare.json):
// used by the bench and by the docs page.
export const num = (x) => (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(x >= 10 ? 1 : 2));

/** The table of `rows`; with `previous` (the rows of the run before), a
 *  column with that run's ratio for the same row beside this one's. */
export function markdown(rows, previous = null) {
  const before = new Map((previous ?? []).map((r) => [`${r.store} · ${r.operation}`, r]));
  const lines = [
    `| store | operation | connector-state ops/s (min–max) | calls/op | our overhead µs/op | fc-connect-sdk 0.1.56 ops/s (min–max) | calls/op | ours / theirs (pairs: p25–p75) |${previous ? ' previous run |' : ''}`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |${previous ? ' ---: |' : ''}`,
  ];
  const cell = (r) => (r.error ? `fails: ${r.error}` : `${num(r.median)} (${num(r.min)}–${num(r.max)})`);
  const calls = (r) => (r.error ? '–' : r.calls.toFixed(r.calls % 1 ? 1 : 0));
  for (const r of rows) {
    const overhead = r.ours?.overheadUs === undefined ? '–' : num(Math.max(0, r.ours.overheadUs));
    const ratio = r.ratio ? `${r.ratio.toFixed(2)}× (${r.pairRatios.p25.toFixed(2)}–${r.pairRatios.p75.toFixed(2)})` : '–';
    const prior = before.get(`${r.store} · ${r.operation}`);
    const last = previous ? ` ${prior?.ratio ? `${prior.ratio.toFixed(2)}×` : '–'} |` : '';
    lines.push(`| ${r.store} | ${r.operation} | ${cell(r.ours)} | ${calls(r.ours)} | ${overhead} | ${cell(r.theirs)} | ${calls(r.theirs)} | ${ratio} |${last}`);
  }
  return lines.join('\n');
}
