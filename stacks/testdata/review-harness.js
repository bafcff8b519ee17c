// review-harness.js runs the CLI of review.js (the file named by its argument) for the stacks
// tests, in one node process for all of their cases: starting node costs about 0.3 s of CPU,
// judging a case a few milliseconds. It says "ready" once it has loaded review.js; then each line
// on stdin is a JSON list of arguments, and each answer, one line of JSON on stdout, is what
// `node review.js <arguments>` would print on stdout and on stderr, and its exit status. It ends
// when stdin does, so it never outlives the tests.
"use strict";
const readline = require("readline");
const util = require("util");
const { cli } = require(process.argv[2]);

// printed runs call and captures what it prints through console.log and console.error (all that
// review.js prints with), formatted as console formats it.
function printed(call) {
  const out = { stdout: "", stderr: "" };
  const { log, error } = console;
  console.log = (...args) => {
    out.stdout += util.format(...args) + "\n";
  };
  console.error = (...args) => {
    out.stderr += util.format(...args) + "\n";
  };
  try {
    out.status = call();
  } finally {
    Object.assign(console, { log, error });
  }
  return out;
}

process.stdout.write("ready\n");
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const args = JSON.parse(line);
  process.stdout.write(JSON.stringify(printed(() => cli(args))) + "\n");
});
