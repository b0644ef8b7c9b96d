// Plays one conformance scenario through an official @octavus/server-sdk.
//
// Reads one JSON job on stdin:
//
//   {"sdk": "<module>", "version": "2.0.0" | "6.4.0",
//    "baseUrl": "...", "apiKey": "test-key", "sessionId": "sess_conformance",
//    "request": <scenario.request>, "tools": <scenario.tools>,
//    "dynamicTools": [{"schema": {...}, "handler": <tool>}], "sender": {...},
//    "rejectClientTools": false, "maxRetries": 0}
//
// "sdk" is what to import: the npm package "@octavus/server-sdk" (2.0.0)
// or the absolute path of the 6.4.0 oracle bundle. The runner attaches to
// the session with one handler per tool, runs
// toSSEStream(session.execute(request)) and writes the resulting bytes
// verbatim to stdout. Diagnostics go to stderr. The exit code is 0 unless
// the job itself could not be run.

import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeHandler, readStdin } from './job.mjs';

function writeStdout(bytes) {
  return new Promise((resolve, reject) => {
    process.stdout.write(bytes, (err) => (err ? reject(err) : resolve()));
  });
}

async function main() {
  const job = JSON.parse(await readStdin());
  const spec = isAbsolute(job.sdk) ? pathToFileURL(job.sdk).href : job.sdk;
  const { OctavusClient, toSSEStream } = await import(spec);
  const is64 = job.version === '6.4.0';

  // A plain object, as an application would write it.
  const tools = {};
  for (const [name, tool] of Object.entries(job.tools ?? {})) {
    tools[name] = makeHandler(tool ?? {});
  }

  const clientConfig = { baseUrl: job.baseUrl, apiKey: job.apiKey };
  const attachOptions = { tools };
  if (is64) {
    // 6.4.0 retries 408/429/5xx twice by default with backoff delays of
    // about a second: a scenario turns retries on itself, with the same
    // count on the octavus-go side.
    clientConfig.maxRetries = job.maxRetries ?? 0;
    if (job.rejectClientTools) {
      attachOptions.rejectClientToolCalls = true;
    }
  } else if (job.maxRetries || job.rejectClientTools || job.sender || job.dynamicTools?.length) {
    throw new Error('the scenario uses a 6.4.0 feature: it cannot run on 2.0.0');
  }

  const client = new OctavusClient(clientConfig);
  const session = client.agentSessions.attach(job.sessionId, attachOptions);
  if (job.dynamicTools?.length) {
    session.setDynamicTools(
      job.dynamicTools.map((t) => ({ schema: t.schema, handler: makeHandler(t.handler ?? {}) })),
    );
  }
  const request = job.sender ? { ...job.request, sender: job.sender } : job.request;
  const stream = toSSEStream(session.execute(request));

  for await (const chunk of stream) {
    await writeStdout(chunk);
  }
}

main().catch((err) => {
  process.stderr.write(`run-scenario: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
