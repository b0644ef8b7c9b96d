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
//
// The loop is node/chat-driver.mjs's runChat, shared with the 2.0.0
// drivers; what is 6.4.0's here: the oracle's client, both transports in
// one script, retry(), and no wait before an automatic handler.

import { httpTransport, runChat, runMain, socketTransport, stdinJob } from './chat-driver.mjs';
import { importOracle } from './oracle.mjs';

const { OctavusChat, createHttpTransport, createSocketTransport, OctavusError } =
  await importOracle('client-sdk-6.4.0.mjs');

runMain('chat-client-6.4', async () => {
  const { job, holdOpen } = await stdinJob();
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

  const kind = job.transport ?? 'http';
  await runChat({
    name: 'chat-client-6.4',
    job,
    out,
    OctavusChat,
    OctavusError,
    connect: async () => {
      let conn;
      if (kind === 'http') {
        conn = await httpTransport(createHttpTransport, job, out);
      } else if (kind === 'socket') {
        conn = await socketTransport(createSocketTransport, job, out);
      } else {
        throw new Error(`unknown transport ${JSON.stringify(kind)}`);
      }
      return {
        transport: conn.transport,
        close: async () => {
          await holdOpen();
          await conn.close();
        },
      };
    },
    retry: true,
  });
});
