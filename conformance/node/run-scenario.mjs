// Plays one conformance scenario through the official @octavus/server-sdk.
//
// Reads one JSON job on stdin:
//
//   {"baseUrl": "...", "apiKey": "test-key", "sessionId": "sess_conformance",
//    "request": <scenario.request>, "tools": <scenario.tools>}
//
// attaches to the session with one handler per tool, runs
// toSSEStream(session.execute(request)) and writes the resulting bytes
// verbatim to stdout. Diagnostics go to stderr. The exit code is 0 unless
// the job itself could not be run.

import { OctavusClient, toSSEStream } from '@octavus/server-sdk';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// makeHandler builds the tool handler a scenario describes: wait delayMs,
// then throw new Error(error) when error is set, else return result
// (undefined when the key is absent, null when it is null).
function makeHandler(spec) {
  const delayMs = typeof spec.delayMs === 'number' ? spec.delayMs : 0;
  const hasError = Object.prototype.hasOwnProperty.call(spec, 'error');
  const hasResult = Object.prototype.hasOwnProperty.call(spec, 'result');
  return async () => {
    if (delayMs > 0) {
      await sleep(delayMs);
    }
    if (hasError) {
      throw new Error(spec.error);
    }
    return hasResult ? spec.result : undefined;
  };
}

function writeStdout(bytes) {
  return new Promise((resolve, reject) => {
    process.stdout.write(bytes, (err) => (err ? reject(err) : resolve()));
  });
}

async function main() {
  const job = JSON.parse(await readStdin());

  // A plain object, as an application would write it.
  const tools = {};
  for (const [name, spec] of Object.entries(job.tools ?? {})) {
    tools[name] = makeHandler(spec ?? {});
  }

  const client = new OctavusClient({ baseUrl: job.baseUrl, apiKey: job.apiKey });
  const session = client.agentSessions.attach(job.sessionId, { tools });
  const stream = toSSEStream(session.execute(job.request));

  for await (const chunk of stream) {
    await writeStdout(chunk);
  }
}

main().catch((err) => {
  process.stderr.write(`run-scenario: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
