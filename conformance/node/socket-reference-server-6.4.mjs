// A Node port of examples/socket on the official @octavus/server-sdk 6.4.0
// (the oracle build, see node/oracle.mjs), as the docs' socket transport
// page writes the server ("Server-Managed Sessions"): GET /ws upgrades to a
// WebSocket (`ws`); the session is created on the connection's first
// trigger (input {COMPANY_NAME: 'Acme Corp'}, as the example's) and every
// trigger, continue and stop message goes to session.handleSocketMessage
// with onEvent writing each event as one message. The same server tool as
// the example (get-user-account returns {name: 'Demo User', plan: 'pro'}).
//
// Configured like the example: OCTAVUS_API_URL, OCTAVUS_API_KEY,
// OCTAVUS_AGENT_ID, OCTAVUS_MAX_RETRIES (-1 or 0: no retries; unset: the
// default of 2) and `-addr host:port` (port 0 picks a free one). It prints
// "Listening on http://host:port" once it accepts connections, and
// "socket: ..." on stderr for a socket error. SIGINT / SIGTERM stop it.

import http from 'node:http';
import { WebSocketServer } from 'ws';
import { importOracle } from './oracle.mjs';

const { OctavusClient } = await importOracle('server-sdk-6.4.0.mjs');

function parseAddr(argv) {
  let addr = process.env.ADDR || 'localhost:8080';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-addr' || argv[i] === '--addr') {
      addr = argv[i + 1];
      i++;
    } else if (argv[i].startsWith('-addr=') || argv[i].startsWith('--addr=')) {
      addr = argv[i].slice(argv[i].indexOf('=') + 1);
    }
  }
  const colon = addr.lastIndexOf(':');
  return { host: addr.slice(0, colon) || undefined, port: Number(addr.slice(colon + 1)) };
}

const baseUrl = process.env.OCTAVUS_API_URL;
const apiKey = process.env.OCTAVUS_API_KEY;
const agentId = process.env.OCTAVUS_AGENT_ID;
if (!baseUrl || !agentId) {
  process.stderr.write('socket-reference-server-6.4: set OCTAVUS_API_URL, OCTAVUS_API_KEY and OCTAVUS_AGENT_ID\n');
  process.exit(1);
}
const clientConfig = { baseUrl, apiKey };
if (process.env.OCTAVUS_MAX_RETRIES) {
  clientConfig.maxRetries = Math.max(0, Number(process.env.OCTAVUS_MAX_RETRIES));
}
const client = new OctavusClient(clientConfig);

const tools = {
  'get-user-account': async () => ({ name: 'Demo User', plan: 'pro' }),
};

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('404 page not found\n');
});
const wss = new WebSocketServer({ server, path: '/ws' });

// The docs' handler: one session per connection, created on the first trigger.
wss.on('connection', (ws) => {
  let session = null;
  const send = (data) => ws.send(JSON.stringify(data));

  async function handleMessage(raw) {
    const msg = JSON.parse(raw);
    if (msg.type === 'trigger' || msg.type === 'continue' || msg.type === 'stop') {
      if (!session && msg.type === 'trigger') {
        const sessionId = await client.agentSessions.create(agentId, { COMPANY_NAME: 'Acme Corp' });
        session = client.agentSessions.attach(sessionId, { tools });
      }
      if (!session) return;
      await session.handleSocketMessage(msg, { onEvent: send });
    }
  }

  ws.on('message', (data) => {
    handleMessage(data.toString('utf8')).catch((err) => {
      process.stderr.write(`socket: ${err && err.stack ? err.stack : String(err)}\n`);
    });
  });
  ws.on('error', (err) => process.stderr.write(`socket: ${err && err.message}\n`));
});

const { host, port } = parseAddr(process.argv.slice(2));
server.listen(port, host, () => {
  const { address, port: boundPort } = server.address();
  const shown = address.includes(':') ? `[${address}]` : address;
  process.stdout.write(`Listening on http://${shown}:${boundPort}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const ws of wss.clients) {
      ws.terminate();
    }
    server.close();
    process.exit(0);
  });
}
