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

import { OctavusChat, createHttpTransport, OctavusError } from '@octavus/client-sdk';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
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

  let chat = null;
  const snapshot = () => ({
    ...out,
    status: chat?.status ?? null,
    error: serializeError(chat?.error),
    messages: clone(chat?.messages ?? []),
  });

  const timer = setTimeout(() => {
    process.stderr.write(`chat-client: timed out after ${job.timeoutMs} ms; state: ${JSON.stringify(snapshot())}\n`);
    process.exit(2);
  }, job.timeoutMs ?? 20000);

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

  // The docs' transport, forwarding the signal so that stop() aborts the
  // HTTP request.
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

  clearTimeout(timer);
  const result = JSON.stringify(snapshot());
  process.stdout.write(`${result}\n`, () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`chat-client: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
