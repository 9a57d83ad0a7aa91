// Prints vitest's JSON report as the plain closing line CI reads: `N passed, N failed`, over every project
// (unit and integration: vitest writes one report for the whole run).
// Usage: node scripts/closing-line.mjs [report.json] [vitest's exit code]
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-report.json';
const exitCode = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  // A file that failed to load counts as one failure so that it cannot pass unseen.
  const broken = (r.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0,
  ).length;
  let failed = r.numFailedTests + broken;
  // A run that failed outside any test (a global set-up that threw, an unhandled error) is one failure too.
  if (failed === 0 && (r.success === false || (exitCode !== undefined && exitCode !== 0))) {
    console.error(
      `closing-line: vitest failed outside any test (exit code ${exitCode ?? 'unknown'}); see its output above`,
    );
    failed = 1;
  }
  console.log(`${r.numPassedTests} passed, ${failed} failed`);
} catch (err) {
  console.log(`0 passed, 1 failed`);
  console.error(`closing-line: cannot read ${file}: ${err.message}`);
}
