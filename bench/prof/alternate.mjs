// The probes' timing loop: each variant runs `n` operations per batch, the
// variants' batches alternate (the order flips every round), and each
// variant's median µs per operation is printed (the first batch dropped).
export async function alternate(label, ops, variants, batches, n) {
  const times = Object.fromEntries(variants.map((v) => [v, []]));
  for (let b = 0; b < batches; b++) {
    for (const v of b % 2 ? variants.slice().reverse() : variants) {
      const t = performance.now();
      for (let k = 0; k < n; k++) await ops[v]();
      times[v].push(((performance.now() - t) * 1000) / n);
    }
  }
  for (const v of variants) {
    const s = times[v].slice(1).sort((a, b) => a - b);
    console.log(`${label} ${v}: ${s[s.length >> 1].toFixed(1)} µs/op (median of ${s.length} batches of ${n})`);
  }
}
