// Runs the worker and deferred-start scenarios of workers_oracle_test.go
// through the official @octavus/server-sdk 6.4.0 and prints what it did.
// Usage: node workers-oracle.mjs <server-sdk-6.4.0.mjs> <platform URL> < scenarios.json
import { readFileSync } from 'node:fs';

const sdk = await import(process.argv[2]);
const baseUrl = process.argv[3];
const scenarios = JSON.parse(readFileSync(0, 'utf8'));

const tools = (spec) =>
  Object.fromEntries(Object.entries(spec ?? {}).map(([name, result]) => [name, async () => result]));

async function drain(gen) {
  const events = [];
  for await (const ev of gen) events.push(ev);
  return events;
}

const out = [];
for (const sc of scenarios) {
  const client = new sdk.OctavusClient({ baseUrl, apiKey: 'test-key', maxRetries: 0 });
  const opts = { tools: tools(sc.tools) };
  if (sc.dynamicToolSchemas !== undefined) opts.dynamicToolSchemas = sc.dynamicToolSchemas;
  const r = { name: sc.name };
  try {
    switch (sc.kind) {
      case 'execute':
        r.events = await drain(client.workers.execute(sc.agentId, sc.input, opts));
        break;
      case 'continue':
        r.events = await drain(client.workers.continue(sc.agentId, sc.executionId, sc.toolResults, opts));
        break;
      case 'generate':
        try {
          r.result = await client.workers.generate(sc.agentId, sc.input, opts);
        } catch (err) {
          r.error = { name: err.name, message: err.message, sessionId: err.sessionId, details: err.details };
        }
        break;
      case 'start': {
        r.created = [];
        const session = client.agentSessions.start({
          agentId: sc.agentId,
          input: sc.input,
          idempotencyKey: sc.idempotencyKey,
          tools: tools(sc.tools),
          onSessionCreated: (id) => r.created.push(id),
        });
        r.events = [];
        r.sessionIds = [session.getSessionId() ?? ''];
        for (const req of sc.requests) {
          try {
            r.events.push(await drain(session.execute(req)));
          } catch (err) {
            r.events.push([{ thrown: err.message }]);
          }
          r.sessionIds.push(session.getSessionId() ?? '');
        }
        break;
      }
    }
  } catch (err) {
    r.thrown = String(err);
  }
  out.push(r);
}
process.stdout.write(JSON.stringify(out, null, 1));
