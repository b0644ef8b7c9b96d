// Runs the official SDK's event schema (safeParseStreamEvent of
// @octavus/server-sdk 6.4.0) over event lines and prints what it keeps, so
// that events_oracle_test.go can compare ParseStreamEvent + json.Marshal
// with it.
//
// Usage: node testdata/events-oracle.mjs <server-sdk-6.4.0.mjs>  < inputs.json
// stdin: a JSON array of strings, each the text of one SSE data line.
// stdout: {"oracle":..., "cases":[{"in":<line>,"out":<JSON.stringify of the
// parsed event, or null when the SDK drops the line>}, ...]}, one case a line.
//
// Regenerate the committed golden with:
//   OCTAVUS_UPDATE_GOLDEN=1 go test -run TestEventOracleFresh .
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const oracle = process.argv[2];
if (!oracle) {
  console.error('usage: node events-oracle.mjs <server-sdk-6.4.0.mjs> < inputs.json');
  process.exit(2);
}
const { safeParseStreamEvent } = await import(pathToFileURL(resolve(oracle)).href);
const inputs = JSON.parse(readFileSync(0, 'utf8'));

const lines = inputs.map((line) => {
  let out = null;
  try {
    // As the SDK's reader does: JSON.parse, then the schema; a line
    // either fails is dropped.
    const r = safeParseStreamEvent(JSON.parse(line));
    if (r.success) out = JSON.stringify(r.data);
  } catch {
    out = null;
  }
  return JSON.stringify({ in: line, out });
});
process.stdout.write(
  '{"oracle":"@octavus/server-sdk 6.4.0 safeParseStreamEvent",\n' +
    '"regenerate":"OCTAVUS_UPDATE_GOLDEN=1 go test -run TestEventOracleFresh .",\n' +
    '"cases":[\n' +
    lines.join(',\n') +
    '\n]}\n',
);
