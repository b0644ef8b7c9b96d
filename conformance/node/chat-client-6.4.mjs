// Drives the official browser client at 6.4.0 (OctavusChat from the oracle
// build of @octavus/client-sdk, see node/oracle.mjs) against an app server,
// the way a browser page would, and prints where the chat ended. It is
// node/chat-client.mjs and node/socket-client.mjs (the 2.0.0 drivers) for
// the 6.4.0 client, both transports in one script, plus retry().
//
// Reads one JSON job on stdin:
//
//   {"transport": "http" | "socket",           default "http"
//    "url": "http://127.0.0.1:1234",            the app server (http), or
//           "ws://127.0.0.1:1234/ws",           its socket endpoint (socket)
//    "sessionInput": {"COMPANY_NAME": "Acme"},  http: body.input of POST /api/sessions
//    "sessionId": "...",                        http, optional: used in place of the one created
//    "sends": [{"triggerName": "user-message", "input": {...}, "userMessage": "Hi",
//               "stopOnFirstTextDelta": false}
//              | {"retry": true}],
//    "clientTools": {"confirm-with-user": {"result": {...}} | {"error": "..."},
//                    "pick-plan": {"interactive": true, "result": {...}} | {"interactive": true, "error": "..."}},
//    "holdOpen": false,                         see holdOpen below
//    "timeoutMs": 20000}
//
// The job is the first line of stdin. Over http it creates a session with POST {url}/api/sessions and posts
// each transport request to {url}/api/trigger with the sessionId (the docs'
// createHttpTransport request, forwarding the signal). Over the socket the
// session is the server's business (server-managed sessions) and the
// socket is a `ws` WebSocket (the docs' native WebSocket connect).
//
// Each send is chat.send(triggerName, input, {userMessage: {content}}), or
// chat.retry() for {"retry": true}; then it waits, by watching chat.status
// through chat.subscribe, until the chat has settled (idle or error; a
// client-tool continuation runs after send() resolves). A client tool is an
// automatic handler that returns `result` or throws `error`, or with
// `interactive` the string 'interactive': once the chat is awaiting-input,
// each pending call of it is submitted with `result` or cancelled with
// `error`. With stopOnFirstTextDelta, chat.stop() is called once an
// assistant text part of that send has some text. Both happen from a fresh
// macrotask, as a click would. Unlike socket-client.mjs, automatic handlers
// answer at once: the 6.4.0 chat waits for the finish {client-tool-calls}
// itself before it continues (the 2.0.0 socket race is fixed there).
//
// Writes one JSON object on stdout:
//
//   {"sessionId" (http), "status", "error" (null or the OctavusError's
//    fields), "messages" (chat.messages), "statuses" (each status the chat
//    took, in order), "requests" (each request payload: what the http
//    transport's request() got, or the trigger and continue messages sent
//    on the socket), "clientToolCalls" ({toolCallId, toolName, args} per
//    handler call), "callbacks" (onFinish/onStop/onError calls, in order),
//    "stopped", "canRetry" (chat.canRetry before each retry),
//    and over the socket "sent", "received", "connectionStates"}
//
// Exit code 0 unless the job could not be run; on timeout it prints the
// state so far on stderr and exits 2.

import readline from 'node:readline';
import { importOracle } from './oracle.mjs';

const { OctavusChat, createHttpTransport, createSocketTransport, OctavusError } =
  await importOracle('client-sdk-6.4.0.mjs');

// The lines of stdin: the job first, then (with holdOpen) the go-ahead to
// close the socket.
const stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function readJob() {
  const { value, done } = await stdinLines.next();
  if (done) {
    throw new Error('no job on stdin');
  }
  return JSON.parse(value);
}

// holdOpen, when the job asks for it, says "settled" on stdout and waits for
// a line (or the end) of stdin before the socket is closed: the test first
// waits until the platform has answered every request, so that closing the
// socket cannot cancel an answer still being read (the end of a stream after
// its finish event).
async function holdOpen(job) {
  if (job.holdOpen) {
    process.stdout.write('settled\n');
    await stdinLines.next();
  }
}

function serializeError(err) {
  if (err === null || err === undefined) {
    return null;
  }
  if (OctavusError.isInstance(err)) {
    return err.toJSON();
  }
  return { name: err.name, message: err.message };
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// httpTransport creates the session and returns the docs' HTTP transport.
async function httpTransport(job, out) {
  const created = await fetch(`${job.url}/api/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ input: job.sessionInput ?? {} }),
  });
  if (!created.ok) {
    throw new Error(`POST /api/sessions: ${created.status} ${await created.text()}`);
  }
  let { sessionId } = await created.json();
  if (job.sessionId !== undefined) {
    sessionId = job.sessionId;
  }
  out.sessionId = sessionId;
  const transport = createHttpTransport({
    request: (payload, options) => {
      out.requests.push(clone(payload));
      return fetch(`${job.url}/api/trigger`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sessionId, ...payload }),
        signal: options?.signal,
      });
    },
  });
  return { transport, close: async () => {} };
}

// socketTransport returns the docs' socket transport over a `ws`
// WebSocket, recording the traffic.
async function socketTransport(job, out) {
  const { default: WebSocket } = await import('ws');
  out.sent = [];
  out.received = [];
  out.connectionStates = [];
  let sock = null; // the open WebSocket, to wait for its close at the end
  const transport = createSocketTransport({
    connect: () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(job.url);
        ws.onopen = () => {
          const send = ws.send.bind(ws);
          ws.send = (data) => {
            const msg = JSON.parse(data);
            out.sent.push(msg);
            if (msg.type === 'trigger' || msg.type === 'continue') {
              out.requests.push(msg);
            }
            send(data);
          };
          sock = ws;
          resolve(ws);
        };
        ws.onerror = (e) => reject(new Error(`WebSocket connection failed: ${e.message}`));
      }),
    onMessage: (data) => out.received.push(clone(data)),
  });
  transport.onConnectionStateChange((state) => out.connectionStates.push(state));
  // Leave as a page does, and let the close handshake finish so that the
  // server sees a clean close.
  const close = async () => {
    if (sock !== null && sock.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((resolve) => sock.once('close', resolve));
      transport.disconnect();
      await closed;
    }
  };
  return { transport, close };
}

async function main() {
  const job = await readJob();
  const out = {
    sessionId: null,
    status: null,
    error: null,
    messages: [],
    statuses: [],
    requests: [],
    clientToolCalls: [],
    callbacks: [],
    stopped: false,
    canRetry: [],
  };

  let chat = null;
  const snapshot = () => ({
    ...out,
    status: chat?.status ?? null,
    error: serializeError(chat?.error),
    messages: clone(chat?.messages ?? []),
  });

  const timer = setTimeout(() => {
    process.stderr.write(`chat-client-6.4: timed out after ${job.timeoutMs} ms; state: ${JSON.stringify(snapshot())}\n`);
    process.exit(2);
  }, job.timeoutMs ?? 20000);

  const kind = job.transport ?? 'http';
  let conn;
  if (kind === 'http') {
    conn = await httpTransport(job, out);
  } else if (kind === 'socket') {
    conn = await socketTransport(job, out);
  } else {
    throw new Error(`unknown transport ${JSON.stringify(kind)}`);
  }

  const clientTools = {};
  for (const [name, spec] of Object.entries(job.clientTools ?? {})) {
    if (spec.interactive) {
      clientTools[name] = 'interactive';
      continue;
    }
    clientTools[name] = async (args, ctx) => {
      out.clientToolCalls.push({ toolCallId: ctx.toolCallId, toolName: ctx.toolName, args: clone(args) });
      if (Object.prototype.hasOwnProperty.call(spec, 'error')) {
        throw new Error(spec.error);
      }
      return spec.result;
    };
  }

  chat = new OctavusChat({
    transport: conn.transport,
    clientTools,
    onFinish: () => out.callbacks.push('finish'),
    onStop: () => out.callbacks.push('stop'),
    onError: (err) => out.callbacks.push(`error:${err.errorType}`),
  });

  out.statuses.push(chat.status);
  let stopArmed = false; // the current send stops on its first text delta
  const answered = new Set(); // interactive toolCallIds already answered
  const waiters = new Set();
  chat.subscribe(() => {
    if (chat.status !== out.statuses[out.statuses.length - 1]) {
      out.statuses.push(chat.status);
    }
    if (stopArmed && chat.status === 'streaming') {
      const last = chat.messages[chat.messages.length - 1];
      if (last?.role === 'assistant' && last.parts.some((p) => p.type === 'text' && p.text !== '')) {
        stopArmed = false;
        setImmediate(() => {
          out.stopped = true;
          chat.stop();
        });
      }
    }
    if (chat.status === 'awaiting-input') {
      for (const [name, tools] of Object.entries(chat.pendingClientTools)) {
        const spec = job.clientTools?.[name] ?? {};
        for (const tool of tools) {
          if (answered.has(tool.toolCallId)) {
            continue;
          }
          answered.add(tool.toolCallId);
          setImmediate(() => {
            out.clientToolCalls.push({ toolCallId: tool.toolCallId, toolName: tool.toolName, args: clone(tool.args) });
            if (Object.prototype.hasOwnProperty.call(spec, 'error')) {
              tool.cancel(spec.error);
            } else {
              tool.submit(spec.result);
            }
          });
        }
      }
    }
    for (const check of waiters) {
      check();
    }
  });

  // settled resolves once the chat is idle or in error.
  const settled = () =>
    new Promise((resolve) => {
      const check = () => {
        if (chat.status === 'idle' || chat.status === 'error') {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
    });

  for (const send of job.sends ?? []) {
    if (send.retry) {
      out.canRetry.push(chat.canRetry);
      await chat.retry();
      await settled();
      continue;
    }
    const options = send.userMessage !== undefined ? { userMessage: { content: send.userMessage } } : undefined;
    stopArmed = Boolean(send.stopOnFirstTextDelta);
    await chat.send(send.triggerName, send.input, options);
    await settled();
    stopArmed = false;
  }

  await holdOpen(job);
  await conn.close();
  clearTimeout(timer);
  const result = JSON.stringify(snapshot());
  process.stdout.write(`${result}\n`, () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`chat-client-6.4: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
