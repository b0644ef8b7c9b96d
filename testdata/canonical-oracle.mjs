// Prints, for each line of the corpus (one JSON text a line), the browser's
// round trip of it: JSON.stringify(JSON.parse(line)), with object keys
// sorted (Array.prototype.sort, by UTF-16 code units), so that
// hardening_browser_test.go can compare the signing canonical form
// (canonicalJSON) with what a browser sends back.
//
// Usage: node testdata/canonical-oracle.mjs testdata/canonical-corpus.txt
//
// Regenerate the committed golden with:
//   OCTAVUS_UPDATE_GOLDEN=1 go test -run TestCanonicalJSONAgainstNode .
import { readFileSync } from 'node:fs';

const canon = (v) => {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
};

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l !== '');
process.stdout.write(lines.map((l) => canon(JSON.parse(l))).join('\n') + '\n');
