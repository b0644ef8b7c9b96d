// Reads {oracle, baseUrl} on stdin and runs the official
// @octavus/server-sdk 6.4.0 (oracle/server-sdk-6.4.0.mjs) WorkforceApi
// through the steps of TestWorkforceOracle against baseUrl, printing
// [{step, result} | {step, error: {message, status?, code?}}] as JSON.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const sdk = await import(pathToFileURL(path.join(job.oracle, 'server-sdk-6.4.0.mjs')).href);
const wf = new sdk.OctavusClient({ baseUrl: job.baseUrl, apiKey: 'oct_agt_test' }).workforce;
const file = { id: 'file_1', mediaType: 'image/png', url: 'https://cdn.example/1', filename: 'a.png', size: 3 };
const steps = [
  ['dispatch with files', () => wf.dispatch('agt/1', 'Look at this', { files: [file] })],
  ['dispatch', () => wf.dispatch('agt_1', 'Summarize')],
  ['follow up, empty files', () => wf.followUp('agt_1', 'th 1', 'More', { files: [] })],
  ['get thread', () => wf.getThread('agt_1', 'th_failed')],
  ['wait, timeout 0', () => wf.waitForCompletion('agt_1', 'th_running', { timeoutMs: 0, pollIntervalMs: 5 })],
  ['wait, done', () => wf.waitForCompletion('agt_1', 'th_done')],
  ['get thread 404', () => wf.getThread('agt_1', 'th_missing')],
  ['dispatch 402', () => wf.dispatch('agt_broke', 'Go')],
  ['get thread bad answer', () => wf.getThread('agt_1', 'th_bad')],
];
const out = [];
for (const [step, fn] of steps) {
  try {
    out.push({ step, result: await fn() });
  } catch (err) {
    const e = { message: String(err && err.message).slice(0, 120) };
    if (err && err.status !== undefined) e.status = err.status;
    if (err && err.code !== undefined) e.code = err.code;
    out.push({ step, error: e });
  }
}
process.stdout.write(JSON.stringify(out));
