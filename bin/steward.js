#!/usr/bin/env node
// The steward command: runs the compiled CLI (npm ci / npm install build it through `prepare`).
const { main, explain } = require('../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${explain(err)}\n`);
    process.exit(1);
  },
);
