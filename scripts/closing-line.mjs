// Prints vitest's JSON report as the plain closing line CI reads: `N passed, N failed`.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-report.json';
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  // A file that failed to load counts as one failure so that it cannot pass unseen.
  const broken = (r.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0,
  ).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
} catch (err) {
  console.log(`0 passed, 1 failed`);
  console.error(`closing-line: cannot read ${file}: ${err.message}`);
}
