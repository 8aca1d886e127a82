// The reliability table, from the results of `npm run reliability`
// (bench/results/reliability.json): used by the run and by the docs page.
export function render({ rows, size }) {
  const impls = ['ours', '0.1.56'];
  // The stores of the contention runs and of the restart runs, in run order.
  const stores = Object.fromEntries(Object.keys(rows).filter((k) => k.startsWith('ours|') && rows[k].lock).map((k) => [k.slice(5), true]));
  const restartable = Object.fromEntries(Object.keys(rows).filter((k) => k.startsWith('ours|restart ')).map((k) => [k.slice('ours|restart '.length), true]));
  const get = (impl, store) => rows[`${impl}|${store}`];
  const yes = (b) => (b === null || b === undefined ? 'n/a' : b ? 'yes' : 'no');
  const lines = [
    `| check | store | connector-state | fc-connect-sdk 0.1.56 |`,
    `| --- | --- | ---: | ---: |`,
  ];
  const row = (label, store, f) => {
    const cells = impls.map((impl) => {
      const r = get(impl, store);
      return r ? String(f(r)) : '–';
    });
    lines.push(`| ${label} | ${store} | ${cells.join(' | ')} |`);
  };
  for (const store of Object.keys(stores)) {
    row(`lock: acquisitions (4 processes)`, store, (r) => r.lock.acquisitions);
    row(`lock: most holders at once`, store, (r) => r.lock.maxHolders);
    row(`lock: entries while another held it`, store, (r) => r.lock.overlapping);
    row(`lock: fencing tokens not rising`, store, (r) => r.lock.fencingViolations ?? 'no tokens');
    row(`lock: store errors reaching the workers`, store, (r) => r.lock.storeErrors);
    row(`files: processed of ${size.files}`, store, (r) => r.files.processed);
    row(`files: processed twice`, store, (r) => r.files.duplicates);
    row(`files: never processed`, store, (r) => r.files.missing);
    row(`files: missing from the listing`, store, (r) => r.files.missingFromListing);
    row(`paused holder: extend after takeover`, store, (r) => r.pause.extend);
    row(`paused holder: new holder kept its lock`, store, (r) => yes(r.pause.newHolderKeptLock));
  }
  const delayed = [['connector-state, maxWriteDelayMs 150', rows['ours|versori delayed, bound 150']], ['connector-state, maxWriteDelayMs 0 (best-effort)', rows['ours|versori delayed, no bound']], ['fc-connect-sdk 0.1.56', rows['0.1.56|versori delayed']]];
  for (const [who, r] of delayed) {
    if (!r) continue;
    const { locks, claims } = r.delayed;
    lines.push(`| versori, writes 0–100 ms late: lock entries, most holders at once, overlapping entries, ms per entry (8 runs × 60 rounds) | ${who} | ${locks.entries}, ${locks.most}, ${locks.overlapping}, ${locks.msPerEntry} | – |`);
    lines.push(`| versori, writes 0–100 ms late: files processed, processed twice (8 trackers, 30 files) | ${who} | ${claims.processed}, ${claims.processedTwice} | – |`);
  }
  const crash = rows['ours|crash']?.crash;
  if (crash) {
    lines.push(`| crash: holder killed (SIGKILL), takeover after the kill, min / median / max (TTL ${crash.ttlMs} ms, ${crash.rounds} times) | sqlite file | ${crash.minMs} / ${crash.medianMs} / ${crash.maxMs} ms | – |`);
    lines.push(`| crash: taken while the holder lived; fencing token rose | sqlite file | ${crash.takenWhileAlive}; ${crash.tokensRose ? 'yes' : 'no'} | – |`);
  }
  const stall = rows['ours|stall']?.stall;
  if (stall) {
    const ms = (k) => stall.results.map((r) => r[k]).join(', ');
    lines.push(`| stall: holder's signal aborted / lock taken by another, ms after the stall (TTL ${stall.ttlMs} ms) | denokv server | ${ms('abortedAfterMs')} / ${ms('takenAfterMs')} | – |`);
    lines.push(`| stall: signal aborted before the takeover | denokv server | ${stall.results.filter((r) => r.abortedFirst).length} of ${stall.rounds} | – |`);
  }
  for (const store of Object.keys(restartable)) {
    const r = rows[`ours|restart ${store}`]?.outage;
    if (!r) continue;
    const line = (label, value) => lines.push(`| restart: ${label} | ${store}, killed mid-run | ${value} | – |`);
    line('server down (ms), lock run / files run', `${r.lock.outageMs} / ${r.files.outageMs}`);
    line('lock: acquisitions, most holders at once, overlapping entries', `${r.lock.acquisitions}, ${r.lock.maxHolders}, ${r.lock.overlapping}`);
    line('lock: fencing tokens not rising', r.lock.fencingViolations);
    line('files: processed, twice, missing from the listing', `${r.files.processed}, ${r.files.duplicates}, ${r.files.missingFromListing}`);
    line('errors reaching the workers (all STORE_UNAVAILABLE)', `${r.lock.storeErrors + r.files.storeErrors} (${(r.lock.errorsByCode.STORE_UNAVAILABLE ?? 0) + (r.files.errorsByCode.STORE_UNAVAILABLE ?? 0)})`);
  }
  const faults = (label, f) => {
    for (const store of ['deno-kv', 'versori']) {
      const cells = impls.map((impl) => {
        const r = rows[`${impl}|faults ${store}`];
        return r ? String(f(r.faults)) : '–';
      });
      lines.push(`| faults: ${label} | ${store} | ${cells.join(' | ')} |`);
    }
  };
  faults(`operations`, (r) => r.operations);
  faults(`store faults injected (write landed, then threw)`, (r) => `${r.faults} (${r.ambiguous})`);
  faults(`errors surfaced (with a code)`, (r) => `${r.rejected} (${r.coded})`);
  faults(`faults hidden from the caller`, (r) => r.faultsHidden);
  faults(`wrong answers ("not processed" for a recorded file)`, (r) => r.wrongAnswers);
  faults(`records lost`, (r) => r.lostRecords);
  faults(`index entries lost (after verify/rebuild)`, (r) => r.lostIndexEntries);
  faults(`wasm traps`, (r) => r.traps);
  return lines.join('\n');
}
