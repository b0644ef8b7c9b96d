// Regenerates golden.json, the expected outputs of the 6.4.0 tool-result size
// rule, from the official server SDK (enforceToolResultsSize):
//
//   node testdata/truncate/gen.mjs [path/to/server-sdk-6.4.0.mjs] > testdata/truncate/golden.json
//
// The default path is the shared oracle, ../shared/oracle/server-sdk-6.4.0.mjs
// from the repository root. TestFitResultsGolden replays every case.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const oracle = process.argv[2] ?? '../shared/oracle/server-sdk-6.4.0.mjs';
const { enforceToolResultsSize } = await import(pathToFileURL(resolve(oracle)).href);

// A deterministic text of n characters (UTF-16 units): seed repeated. In the
// golden's inputs it is written {"$text":[n,seed]}, which the Go test expands
// the same way, so the file stays small.
const text = (n, seed = 'abcdefghij') => ({ $text: [n, seed] });
const expandText = ([n, seed]) => {
  let s = '';
  while (s.length < n) s += seed;
  return s.slice(0, n);
};
const expand = (v) => {
  if (Array.isArray(v)) return v.map(expand);
  if (v && typeof v === 'object') {
    if (v.$text) return expandText(v.$text);
    if (v.$concat) return v.$concat.map(expand).join('');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]));
  }
  return v;
};
const cat = (...parts) => ({ $concat: parts });
const KiB = 1024;

const cases = [
  { name: 'under the budget: unchanged', maxBytes: 64 * KiB,
    results: [{ toolCallId: 'c1', toolName: 't', result: 'small' }, { toolCallId: 'c2', toolName: 't', error: 'oops' }] },
  { name: 'one big string result', maxBytes: 64 * KiB,
    results: [{ toolCallId: 'c1', toolName: 'dump', result: cat('HEAD', text(100 * KiB), 'TAIL') }, { toolCallId: 'c2', toolName: 'small', result: 'tiny' }] },
  { name: 'a big object result is measured as its JSON', maxBytes: 48 * KiB,
    results: [{ toolCallId: 'c1', toolName: 'rows', result: { rows: Array.from({ length: 3000 }, (_, i) => ({ id: i, name: 'row ' + i })) } }] },
  { name: 'a big error without result', maxBytes: 40 * KiB,
    results: [{ toolCallId: 'c1', toolName: 'log', error: cat('E', text(60 * KiB, 'error line\n')) }] },
  { name: 'an outputVariable capture is replaced by an error', maxBytes: 40 * KiB,
    results: [{ toolCallId: 'c1', toolName: 'fetch', result: text(80 * KiB), outputVariable: 'PAGE', blockIndex: 2 }] },
  { name: 'several passes, largest first, first of equals', maxBytes: 60 * KiB,
    results: [
      { toolCallId: 'a', toolName: 't', result: text(30 * KiB, 'a') },
      { toolCallId: 'b', toolName: 't', result: text(50 * KiB, 'b') },
      { toolCallId: 'c', toolName: 't', result: text(30 * KiB, 'c') },
      { toolCallId: 'd', toolName: 't', result: 'ok' },
    ] },
  { name: 'results at or under 16 KiB are never cut: overflow', maxBytes: 20 * KiB,
    results: [
      { toolCallId: 'a', toolName: 't', result: text(16 * KiB) },
      { toolCallId: 'b', toolName: 't', result: text(10 * KiB) },
    ] },
  { name: 'multi-byte characters: bytes measured, UTF-16 units kept', maxBytes: 40 * KiB,
    results: [{ toolCallId: 'c1', toolName: 't', result: cat('début ', text(30 * KiB, 'é日本ü'), ' fin') }] },
  { name: 'MB sizes round half up', maxBytes: 512 * KiB,
    results: [{ toolCallId: 'c1', toolName: 't', result: text(1310720) }] },
  { name: 'KB sizes round half up', maxBytes: 16 * KiB,
    results: [{ toolCallId: 'c1', toolName: 't', result: text(17 * KiB + 512) }] },
  { name: 'a null result and a numeric result', maxBytes: 30 * KiB,
    results: [{ toolCallId: 'c1', toolName: 't', result: null }, { toolCallId: 'c2', toolName: 't', result: Array.from({ length: 8000 }, (_, i) => i * 1.5) }] },
  { name: 'still over after one pass per result', maxBytes: 40 * KiB,
    results: [
      { toolCallId: 'a', toolName: 't', result: text(40 * KiB) },
      { toolCallId: 'b', toolName: 't', result: text(17 * KiB) },
      { toolCallId: 'c', toolName: 't', result: text(17 * KiB) },
    ] },
];

const out = cases.map((c) => {
  const got = enforceToolResultsSize(expand(c.results), c.maxBytes);
  return { name: c.name, maxBytes: c.maxBytes, input: c.results, results: got.results, truncations: got.truncations, overflow: got.overflow };
});
process.stdout.write(JSON.stringify(out) + '\n');
