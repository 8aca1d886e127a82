// What the README's reliability table promises for this package, as checks
// over the runs' results. Each returns the list of violations (empty when
// the run kept every promise); npm test asserts them, npm run reliability
// exits non-zero on any.

const want = (out, label, actual, expected) => {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) out.push(`${label}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
};

export function lockViolations(r, acquisitions) {
  const out = [];
  want(out, 'entries in the log', r.acquisitions, acquisitions);
  want(out, 'acquisitions the workers counted', r.acquiredByWorkers, acquisitions);
  want(out, 'most holders at once', r.maxHolders, 1);
  want(out, 'entries while another held it', r.overlapping, 0);
  want(out, 'fencing tokens not rising', r.fencingViolations, 0);
  want(out, 'errors reaching the workers', r.storeErrors, 0);
  want(out, 'errors by code', r.errorsByCode, {});
  return out;
}

export function fileViolations(r, files) {
  const out = [];
  want(out, 'processed (log)', r.processed, files);
  want(out, 'processed (workers)', r.processedByWorkers, files);
  want(out, 'processed twice', r.duplicates, 0);
  want(out, 'never processed', r.missing, 0);
  want(out, 'missing from the listing', r.missingFromListing, 0);
  want(out, 'errors reaching the workers', r.storeErrors, 0);
  want(out, 'errors by code', r.errorsByCode, {});
  return out;
}

export function pauseViolations(r) {
  const out = [];
  want(out, 'extend after takeover', r.extend, 'LOCK_NOT_HELD');
  want(out, 'late release returned', r.lateReleaseReturned, false);
  want(out, 'new holder kept its lock', r.newHolderKeptLock, true);
  want(out, 'fencing token rose', r.tokensRose, true);
  return out;
}

export function faultViolations(r) {
  const out = [];
  if (!(r.faults > r.operations / 10)) out.push(`too few faults injected to prove anything: ${r.faults}`);
  if (!(r.ambiguous > r.operations / 100)) out.push(`too few ambiguous writes: ${r.ambiguous}`);
  want(out, 'errors surfaced with a code', r.coded, r.rejected);
  want(out, 'errors without a code', r.uncoded, 0);
  want(out, 'wasm traps', r.traps, 0);
  want(out, 'faults hidden from the caller', r.faultsHidden, 0);
  want(out, 'wrong answers', r.wrongAnswers, 0);
  want(out, 'writes the store dropped', r.dropped, 0);
  // Against the raw store, before any repair.
  want(out, 'acknowledged marks without a record (raw store, before repair)', r.lostBeforeRepair, 0);
  want(out, 'verify() agrees with the raw store', r.verifyAgrees, true);
  // After rebuild(): through the package and the raw store.
  want(out, 'records lost', r.lostRecords, 0);
  want(out, 'index entries lost', r.lostIndexEntries, 0);
  want(out, 'records on no index page after rebuild (raw store)', r.unindexedAfterRebuild, 0);
  want(out, 'consistent after rebuild', r.consistentAfterRebuild, true);
  want(out, 'module alive', r.moduleAlive, true);
  return out;
}

/** The outage reached the workers, and only as STORE_UNAVAILABLE. */
function outageErrors(out, r) {
  if (!(r.storeErrors > 0)) out.push('the outage never reached the workers');
  const codes = Object.keys(r.errorsByCode);
  if (codes.some((c) => c !== 'STORE_UNAVAILABLE')) out.push(`errors other than STORE_UNAVAILABLE: ${JSON.stringify(r.errorsByCode)}`);
}

/** A lock run through a server restart: every promise of lockViolations
 *  but the errors, which must be STORE_UNAVAILABLE only. */
export function outageLockViolations(r, acquisitions) {
  const out = lockViolations(r, acquisitions).filter((v) => !v.startsWith('errors'));
  outageErrors(out, r);
  return out;
}

/** A files run through a server restart: each file processed once and
 *  listed; errors STORE_UNAVAILABLE only. */
export function outageFileViolations(r, files) {
  const out = fileViolations(r, files).filter((v) => !v.startsWith('errors'));
  outageErrors(out, r);
  return out;
}
