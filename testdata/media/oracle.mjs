// Reads {oracle, baseUrl, cases: [{id, fn, toolResults}]} on stdin and runs
// the official @octavus/server-sdk 6.4.0 (oracle/server-sdk-6.4.0.mjs)
// normalizeToolResultMedia (fn "media") or normalizeToolResultOutputFiles
// (fn "outputFiles") on each case's tool results, with the session id
// case.id and the client's FilesApi against baseUrl. Prints
// {id: {toolResults} | {error}} as JSON. Run by TestMediaOracle.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const sdk = await import(pathToFileURL(path.join(job.oracle, 'server-sdk-6.4.0.mjs')).href);
const client = new sdk.OctavusClient({ baseUrl: job.baseUrl, apiKey: 'test-key' });
const out = {};
for (const c of job.cases) {
  const toolResults = structuredClone(c.toolResults);
  try {
    if (c.fn === 'media') await sdk.normalizeToolResultMedia(toolResults, client.files, c.id);
    else await sdk.normalizeToolResultOutputFiles(toolResults, client.files, c.id);
    out[c.id] = { toolResults };
  } catch (err) {
    out[c.id] = { error: String(err && err.message).slice(0, 200) };
  }
}
process.stdout.write(JSON.stringify(out));
