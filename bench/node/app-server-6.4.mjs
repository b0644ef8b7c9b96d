// The scale run's app server on the official server SDK 6.4.0 (the oracle
// build, ../shared/oracle/server-sdk-6.4.0.mjs) under Node's http module:
// the Node counterpart of `go run ./bench -role server` (the passthrough
// Handler of octavus-go). The load generator (the platform and the
// browsers) is another process: the bench's parent.
//
//   node --expose-gc bench/node/app-server-6.4.mjs <oracle dir> <platform URL> <api key>
//
//   POST /api/trigger {sessionId, ...request} -> text/event-stream of
//        toSSEStream(session.execute(request, {signal})), with the server
//        tool lookup, as the docs' route does it
//   GET  /debug/gc   runs the garbage collector (with --expose-gc) and
//        answers {"rssKiB"}
//
// It prints "listening http://127.0.0.1:<port>" and exits when its stdin
// closes.

import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [oracleDir, baseUrl, apiKey] = process.argv.slice(2);
const { OctavusClient, toSSEStream } = await import(
  pathToFileURL(path.join(oracleDir, 'server-sdk-6.4.0.mjs')).href
);

// No retries, as the Go app server (MaxRetries: -1).
const client = new OctavusClient({ baseUrl, apiKey, maxRetries: 0 });
const tools = { lookup: async () => ({ ok: true }) };

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function trigger(req, res) {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const { sessionId, ...payload } = JSON.parse(await readBody(req));
  const session = client.agentSessions.attach(sessionId, { tools });
  const events = session.execute(payload, { signal: abort.signal });
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.flushHeaders();
  for await (const chunk of toSSEStream(events)) {
    if (!res.destroyed) res.write(chunk);
  }
  res.end();
}

const server = http.createServer((req, res) => {
  const url = req.url || '';
  if (req.method === 'GET' && url === '/debug/gc') {
    if (typeof globalThis.gc === 'function') globalThis.gc();
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ rssKiB: Math.round(process.memoryUsage().rss / 1024) }));
    return;
  }
  if (req.method !== 'POST' || url !== '/api/trigger') {
    res.writeHead(404);
    res.end();
    return;
  }
  trigger(req, res).catch((err) => {
    process.stderr.write(`app-server-6.4: ${err && err.stack ? err.stack : String(err)}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.destroy();
  });
});
// Streams are long and many: no request or keep-alive timeouts cut them.
server.requestTimeout = 0;
server.headersTimeout = 0;
server.keepAliveTimeout = 0;
server.maxConnections = Infinity;

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
