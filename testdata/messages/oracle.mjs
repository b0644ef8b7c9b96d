// Reads {oracle, baseUrl, cases: [{id, format, restore?}]} on stdin, asks the
// official @octavus/server-sdk 6.4.0 (oracle/server-sdk-6.4.0.mjs) for each
// session (getMessages for format "ui", get otherwise; with restore, it then
// restores the session from the messages it got) and prints
// {id: {accepted, data?, error?}} as JSON. Run by TestMessagesOracle.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const { OctavusClient } = await import(pathToFileURL(path.join(job.oracle, 'server-sdk-6.4.0.mjs')).href);
const client = new OctavusClient({ baseUrl: job.baseUrl, apiKey: 'test-key' });
const out = {};
for (const c of job.cases) {
  try {
    const data = c.format === 'ui' ? await client.agentSessions.getMessages(c.id) : await client.agentSessions.get(c.id);
    out[c.id] = { accepted: true, data };
    // The platform records the body of this restore.
    if (c.restore) await client.agentSessions.restore(c.id, data.messages);
  } catch (err) {
    const issue = err && Array.isArray(err.issues) ? err.issues[0] : undefined;
    out[c.id] = {
      accepted: false,
      error: issue ? `${issue.path.join('.')}: ${issue.message}` : String(err && err.message).slice(0, 200),
    };
  }
}
process.stdout.write(JSON.stringify(out));
