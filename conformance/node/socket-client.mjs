// Drives the official browser client (@octavus/client-sdk OctavusChat with
// createSocketTransport, over a `ws` WebSocket) against an app server's
// socket endpoint, the way a browser page would, and prints where the chat
// ended. It is node/chat-client.mjs for the socket transport: the same job
// and output, with the socket's traffic added.
//
// Reads one JSON job on stdin:
//
//   {"url": "ws://127.0.0.1:1234/ws",           the socket endpoint
//    "sends": [{"triggerName": "user-message", "input": {...}, "userMessage": "Hi",
//               "stopOnFirstTextDelta": false}],
//    "clientTools": {"confirm-with-user": {"result": {...}} | {"error": "..."},
//                    "pick-plan": {"interactive": true, "result": {...}} | {"interactive": true, "error": "..."}},
//    "holdOpen": false,                         see holdOpen below
//    "timeoutMs": 20000}
//
// The job is the first line of stdin. The session is the server's business (server-managed sessions: the
// server creates it on the first trigger), so the chat never sees an id.
// For each send it calls chat.send(triggerName, input, {userMessage:
// {content}}) and waits, by watching chat.status through chat.subscribe,
// until the chat has settled (idle or error; a client-tool continuation
// runs after send() resolves). Client tools and stopOnFirstTextDelta work
// as in chat-client.mjs. Then it disconnects the transport and waits for
// the socket's close handshake.
//
// Writes one JSON object on stdout:
//
//   {"status", "error", "messages", "statuses", "callbacks", "stopped",
//    "clientToolCalls"  as chat-client.mjs prints them,
//    "requests"         the trigger and continue messages sent (the
//                       payloads createHttpTransport would have posted),
//    "sent"             every message sent on the socket, stop included,
//    "received"         every message received, parsed,
//    "connectionStates" each state of transport.onConnectionStateChange}
//
// Exit code 0 unless the job could not be run; on timeout it prints the
// state so far on stderr and exits 2.

import readline from 'node:readline';
import WebSocket from 'ws';
import { OctavusChat, createSocketTransport, OctavusError } from '@octavus/client-sdk';

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

async function main() {
  const job = await readJob();
  const out = {
    status: null,
    error: null,
    messages: [],
    statuses: [],
    requests: [],
    clientToolCalls: [],
    callbacks: [],
    stopped: false,
    sent: [],
    received: [],
    connectionStates: [],
  };

  let chat = null;
  const snapshot = () => ({
    ...out,
    status: chat?.status ?? null,
    error: serializeError(chat?.error),
    messages: clone(chat?.messages ?? []),
  });

  const timer = setTimeout(() => {
    process.stderr.write(`socket-client: timed out after ${job.timeoutMs} ms; state: ${JSON.stringify(snapshot())}\n`);
    process.exit(2);
  }, job.timeoutMs ?? 20000);

  let sock = null; // the open WebSocket, to wait for its close at the end

  // A known race of the client SDK's socket transport: OctavusChat runs an
  // automatic client tool as soon as client-tool-request arrives, and when
  // the handler resolves before the finish {client-tool-calls} that follows
  // it has arrived (two socket messages, two reads; in a browser every
  // message is its own task, so an instant handler always wins), the
  // continuation's stream takes that finish as its own end and the chat
  // hangs in "streaming". The server cannot prevent it: the messages are
  // the protocol's, in its order. So an automatic handler here first waits
  // for the end of the stream that asked for it (see conformance/README.md).
  let toolRequestEnded = Promise.resolve(); // the end of the stream of the last client-tool-request
  let endToolRequest = null;
  const transport = createSocketTransport({
    // The docs' native WebSocket connect, with `ws` as the WebSocket. Its
    // send is wrapped to record the traffic.
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
    onMessage: (data) => {
      out.received.push(clone(data));
      if (data.type === 'client-tool-request') {
        toolRequestEnded = new Promise((resolve) => (endToolRequest = resolve));
      } else if ((data.type === 'finish' || data.type === 'error') && endToolRequest !== null) {
        endToolRequest();
        endToolRequest = null;
      }
    },
  });
  transport.onConnectionStateChange((state) => out.connectionStates.push(state));

  const clientTools = {};
  for (const [name, spec] of Object.entries(job.clientTools ?? {})) {
    if (spec.interactive) {
      clientTools[name] = 'interactive';
      continue;
    }
    clientTools[name] = async (args, ctx) => {
      await toolRequestEnded;
      out.clientToolCalls.push({ toolCallId: ctx.toolCallId, toolName: ctx.toolName, args: clone(args) });
      if (Object.prototype.hasOwnProperty.call(spec, 'error')) {
        throw new Error(spec.error);
      }
      return spec.result;
    };
  }

  chat = new OctavusChat({
    transport,
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
    const options = send.userMessage !== undefined ? { userMessage: { content: send.userMessage } } : undefined;
    stopArmed = Boolean(send.stopOnFirstTextDelta);
    await chat.send(send.triggerName, send.input, options);
    await settled();
    stopArmed = false;
  }

  await holdOpen(job);
  // Leave as a page does, and let the close handshake finish so that the
  // server sees a clean close.
  if (sock !== null && sock.readyState !== WebSocket.CLOSED) {
    const closed = new Promise((resolve) => sock.once('close', resolve));
    transport.disconnect();
    await closed;
  }

  clearTimeout(timer);
  const result = JSON.stringify(snapshot());
  process.stdout.write(`${result}\n`, () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`socket-client: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
