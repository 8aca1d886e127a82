// One line per mutated file of a StrykerJS JSON report: killed, survived,
// timed out, no coverage, and the score (killed + timed out over all
// valid mutants, Stryker's own definition), so the report reads per file.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const [file, { mutants }] of Object.entries(report.files)) {
  const count = (status) => mutants.filter((m) => m.status === status).length;
  const killed = count('Killed');
  const timedOut = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const valid = killed + timedOut + survived + noCoverage;
  const score = valid ? ((100 * (killed + timedOut)) / valid).toFixed(1) : '-';
  console.log(`[mutants] ${file}: ${killed} killed, ${timedOut} timed out, ${survived} survived, ${noCoverage} not covered of ${valid}: ${score}%`);
}
