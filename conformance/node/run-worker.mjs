// Plays one worker or deferred-start conformance scenario
// (conformance/worker-scenarios/*.json) through the official 6.4.0 server
// SDK (the oracle bundle).
//
// Reads one JSON job on stdin:
//
//   {"sdk": "<absolute path of server-sdk-6.4.0.mjs>",
//    "baseUrl": "...", "apiKey": "test-key", "maxRetries": 0,
//    "kind": "worker-execute" | "worker-continue" | "worker-generate" | "start",
//    "agentId": "...", "input": {...},
//    "executionId": "...", "toolResults": [...],   // worker-continue
//    "dynamicToolSchemas": [...],                  // worker kinds
//    "idempotencyKey": "...", "requests": [...],   // start
//    "tools": {"name": {"result": ..., "error": "...", "delayMs": 0}}}
//
// and writes one JSON object on stdout:
//
//   {"streams": ["<SSE text of toSSEStream(...)>", ...],
//    "generate": {"ok": {...WorkerGenerateResult}} | {"error": {name, message, sessionId?, details?}},
//    "sessionCreated": ["<id passed to onSessionCreated>", ...],
//    "sessionIds": ["<getSessionId() after each request>" | null, ...]}
//
// worker-execute and worker-continue give one stream (client.workers.execute
// / continue); worker-generate gives the generate outcome (and no stream);
// start runs client.agentSessions.start({agentId, input, idempotencyKey,
// tools, onSessionCreated}) and then session.execute(request) for each of
// the requests in turn, one stream each. Diagnostics go to stderr. The exit
// code is 0 unless the job itself could not be run.

import { pathToFileURL } from 'node:url';
import { makeHandler, readStdin } from './job.mjs';

// sseText drains toSSEStream(events) into one string.
async function sseText(toSSEStream, events) {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of toSSEStream(events)) {
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

async function main() {
  const job = JSON.parse(await readStdin());
  const { OctavusClient, WorkerError, toSSEStream } = await import(pathToFileURL(job.sdk).href);

  const tools = {};
  for (const [name, tool] of Object.entries(job.tools ?? {})) {
    tools[name] = makeHandler(tool ?? {});
  }
  const client = new OctavusClient({
    baseUrl: job.baseUrl,
    apiKey: job.apiKey,
    maxRetries: job.maxRetries ?? 0,
  });
  const workerOptions = { tools };
  if (job.dynamicToolSchemas !== undefined) {
    workerOptions.dynamicToolSchemas = job.dynamicToolSchemas;
  }

  const out = { streams: [] };
  switch (job.kind) {
    case 'worker-execute':
      out.streams.push(
        await sseText(toSSEStream, client.workers.execute(job.agentId, job.input ?? {}, workerOptions)),
      );
      break;
    case 'worker-continue':
      out.streams.push(
        await sseText(
          toSSEStream,
          client.workers.continue(job.agentId, job.executionId, job.toolResults ?? [], workerOptions),
        ),
      );
      break;
    case 'worker-generate':
      try {
        out.generate = { ok: await client.workers.generate(job.agentId, job.input ?? {}, workerOptions) };
      } catch (err) {
        if (!(err instanceof WorkerError)) {
          throw err;
        }
        out.generate = {
          error: { name: err.name, message: err.message, sessionId: err.sessionId, details: err.details },
        };
      }
      break;
    case 'start': {
      out.sessionCreated = [];
      out.sessionIds = [];
      const options = {
        agentId: job.agentId,
        idempotencyKey: job.idempotencyKey,
        tools,
        onSessionCreated: (id) => out.sessionCreated.push(id),
      };
      if (job.input !== undefined) {
        options.input = job.input;
      }
      const session = client.agentSessions.start(options);
      for (const request of job.requests) {
        out.streams.push(await sseText(toSSEStream, session.execute(request)));
        out.sessionIds.push(session.getSessionId() ?? null);
      }
      break;
    }
    default:
      throw new Error(`unknown kind ${JSON.stringify(job.kind)}`);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`run-worker: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
