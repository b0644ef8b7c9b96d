// Drives the official browser client (@octavus/client-sdk OctavusChat with
// createHttpTransport) against an app server with the HTTP-transport
// routes, the way a browser page would, and prints where the chat ended.
//
// Reads one JSON job on stdin:
//
//   {"url": "http://127.0.0.1:1234",            the app server
//    "sessionInput": {"COMPANY_NAME": "Acme"},  body.input of POST /api/sessions
//    "sessionId": "...",                        optional: used in place of the one created
//    "sends": [{"triggerName": "user-message", "input": {...}, "userMessage": "Hi",
//               "stopOnFirstTextDelta": false}],
//    "clientTools": {"confirm-with-user": {"result": {...}} | {"error": "..."},
//                    "pick-plan": {"interactive": true, "result": {...}} | {"interactive": true, "error": "..."}},
//    "timeoutMs": 20000}
//
// It creates a session with POST {url}/api/sessions, then for each send
// calls chat.send(triggerName, input, {userMessage: {content}}) and waits,
// by watching chat.status through chat.subscribe, until the chat has settled
// (idle or error; a client-tool continuation runs after send() resolves).
// A client tool is an automatic handler that returns `result` or throws
// `error`, or with `interactive` the string 'interactive': once the chat is
// awaiting-input, each pending call of it is submitted with `result` or
// cancelled with `error` as the reason. With stopOnFirstTextDelta,
// chat.stop() is called once an assistant text part of that send has some
// text. Both happen from a fresh macrotask, as a click would.
//
// Writes one JSON object on stdout:
//
//   {"sessionId", "status", "error" (null or the OctavusError's fields),
//    "messages" (chat.messages), "statuses" (each status the chat took, in
//    order), "requests" (each payload the transport's request() got),
//    "clientToolCalls" ({toolCallId, toolName, args} per handler call),
//    "callbacks" (onFinish/onStop/onError calls, in order), "stopped"}
//
// Exit code 0 unless the job could not be run; on timeout it prints the
// state so far on stderr and exits 2.
//
// The loop is node/chat-driver.mjs's runChat, shared with the other drivers.

import { OctavusChat, createHttpTransport, OctavusError } from '@octavus/client-sdk';
import { httpTransport, runChat, runMain } from './chat-driver.mjs';
import { readStdin } from './job.mjs';

runMain('chat-client', async () => {
  const job = JSON.parse(await readStdin());
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
  };
  await runChat({
    name: 'chat-client',
    job,
    out,
    OctavusChat,
    OctavusError,
    connect: () => httpTransport(createHttpTransport, job, out),
  });
});
