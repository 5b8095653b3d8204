// tapcheck reads TAP on standard input with the npm tap-parser (found
// through NODE_PATH) and prints what the parser made of it as one line of
// JSON: ok, counts, and the bail-out reason. report_consumers_test.go
// runs it; scripts/tap-consumers installs tap-parser and runs that test.
const { Parser } = require('tap-parser');

const p = new Parser((r) => {
  process.stdout.write(JSON.stringify({
    ok: r.ok,
    count: r.count,
    pass: r.pass,
    fail: r.fail,
    skip: r.skip,
    bailout: r.bailout || '',
    failures: r.failures.map((f) => (f.tapError || f.name || '')),
  }) + '\n');
});
process.stdin.pipe(p);
