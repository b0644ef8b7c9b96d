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
//
// The loop is node/chat-driver.mjs's runChat, shared with the other drivers.

import { OctavusChat, createSocketTransport, OctavusError } from '@octavus/client-sdk';
import { runChat, runMain, socketTransport, stdinJob } from './chat-driver.mjs';

runMain('socket-client', async () => {
  const { job, holdOpen } = await stdinJob();
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
  const onMessage = (data) => {
    if (data.type === 'client-tool-request') {
      toolRequestEnded = new Promise((resolve) => (endToolRequest = resolve));
    } else if ((data.type === 'finish' || data.type === 'error') && endToolRequest !== null) {
      endToolRequest();
      endToolRequest = null;
    }
  };

  await runChat({
    name: 'socket-client',
    job,
    out,
    OctavusChat,
    OctavusError,
    connect: async () => {
      const conn = await socketTransport(createSocketTransport, job, out, onMessage);
      return {
        transport: conn.transport,
        close: async () => {
          await holdOpen();
          await conn.close();
        },
      };
    },
    beforeAutomaticTool: () => toolRequestEnded,
  });
});
