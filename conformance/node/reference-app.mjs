// The app of node/reference-server.mjs (server SDK 2.0.0 from npm) and
// node/reference-server-6.4.mjs (the 6.4.0 oracle): a Node port of
// examples/nethttp on whichever official @octavus/server-sdk it is given.
//
//   POST /api/sessions {input?}              -> {sessionId}
//   POST /api/trigger  {sessionId, ...payload} -> text/event-stream of
//        toSSEStream(session.execute(payload, {signal}))
//
// with the same server tool as the example (get-user-account returns
// {name: 'Demo User', plan: 'pro'}). Configured like the example:
// OCTAVUS_API_URL, OCTAVUS_API_KEY, OCTAVUS_AGENT_ID, and `-addr host:port`
// (default localhost:8080; port 0 picks a free one). Like the example it
// creates a demo session first, then prints "Listening on http://host:port"
// and a curl line on stdout. SIGINT / SIGTERM stop it.

import http from 'node:http';

function parseAddr(argv) {
  let addr = process.env.ADDR || 'localhost:8080';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-addr' || arg === '--addr') {
      addr = argv[i + 1];
      i++;
    } else if (arg.startsWith('-addr=') || arg.startsWith('--addr=')) {
      addr = arg.slice(arg.indexOf('=') + 1);
    }
  }
  const colon = addr.lastIndexOf(':');
  return { host: addr.slice(0, colon) || undefined, port: Number(addr.slice(colon + 1)) };
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJSON(res, status, value) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

// runReferenceServer serves the app with sdk ({OctavusClient, toSSEStream})
// until SIGINT / SIGTERM. name prefixes its error lines; clientConfig is
// added to the OctavusClient's config (e.g. maxRetries for 6.4.0).
export function runReferenceServer(sdk, { name = 'reference-server', clientConfig = {} } = {}) {
  const { OctavusClient, toSSEStream } = sdk;
  const baseUrl = process.env.OCTAVUS_API_URL;
  const apiKey = process.env.OCTAVUS_API_KEY;
  const agentId = process.env.OCTAVUS_AGENT_ID;
  if (!baseUrl || !agentId) {
    process.stderr.write(`${name}: set OCTAVUS_API_URL, OCTAVUS_API_KEY and OCTAVUS_AGENT_ID\n`);
    process.exit(1);
  }

  const client = new OctavusClient({ baseUrl, apiKey, ...clientConfig });

  // The example's server tool.
  const tools = {
    'get-user-account': async () => ({ name: 'Demo User', plan: 'pro' }),
  };

  async function createSession(req, res) {
    let input;
    const text = await readBody(req);
    if (text !== '') {
      try {
        input = JSON.parse(text).input;
      } catch {
        sendJSON(res, 400, { error: 'body must be JSON' });
        return;
      }
    }
    try {
      const sessionId = await client.agentSessions.create(agentId, input);
      sendJSON(res, 200, { sessionId });
    } catch (err) {
      process.stderr.write(`create session: ${err && err.message}\n`);
      sendJSON(res, 502, { error: 'could not create a session' });
    }
  }

  // The docs' route: request.signal becomes an AbortController aborted when
  // the browser goes away before the answer is complete.
  async function trigger(req, res) {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) {
        abort.abort();
      }
    });
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      sendJSON(res, 400, { error: 'body must be JSON' });
      return;
    }
    const { sessionId, ...payload } = body;
    const session = client.agentSessions.attach(sessionId, { tools });
    const events = session.execute(payload, { signal: abort.signal });
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    // Read the whole stream (execute() ends by itself once aborted); write
    // while the browser is there.
    for await (const chunk of toSSEStream(events)) {
      if (!res.destroyed) {
        res.write(chunk);
      }
    }
    res.end();
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    let handler;
    if (path === '/api/sessions') {
      handler = createSession;
    } else if (path === '/api/trigger') {
      handler = trigger;
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'POST' });
      res.end('Method Not Allowed\n');
      return;
    }
    handler(req, res).catch((err) => {
      process.stderr.write(`${name}: ${err && err.stack ? err.stack : String(err)}\n`);
      if (!res.headersSent) {
        sendJSON(res, 500, { error: 'internal error' });
      } else {
        res.destroy();
      }
    });
  });

  async function main() {
    const { host, port } = parseAddr(process.argv.slice(2));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    // A session ready for the curl line below, as the example does.
    const demoSessionId = await client.agentSessions.create(agentId, { COMPANY_NAME: 'Acme Corp' });
    const { address, port: boundPort } = server.address();
    const shown = address.includes(':') ? `[${address}]` : address;
    const url = `http://${shown}:${boundPort}`;
    process.stdout.write(`Listening on ${url}\n`);
    process.stdout.write(
      `Try:\n  curl -N -X POST ${url}/api/trigger -H 'Content-Type: application/json' -d '${JSON.stringify({
        sessionId: demoSessionId,
        type: 'trigger',
        triggerName: 'user-message',
        input: { USER_MESSAGE: 'Who am I?' },
      })}'\n`,
    );
  }

  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      server.close();
      server.closeAllConnections();
      process.exit(0);
    });
  }

  main().catch((err) => {
    process.stderr.write(`${name}: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
