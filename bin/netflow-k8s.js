#!/usr/bin/env node
// The published entry point runs the compiled CLI; `npm run build` (or `npm ci`, via prepare) makes dist/.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => {
    process.stderr.write(`netflow-k8s: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
